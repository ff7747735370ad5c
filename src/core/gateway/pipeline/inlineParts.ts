import { PalisadeError } from "../../errors.js";
import { fileTextOf, hasImageSignature, inlineData, textOf } from "./inlineData.js";

/**
 * The one rule for parts that carry data rather than text (images, audio, files), shared by every
 * operation:
 * - an image or audio part must hold an image or audio: inline data of another media type, or bytes
 *   that are text, is refused (400), since text there would reach the model unread by DLP;
 * - a file's inline data that is text (UTF-8, UTF-16 with a byte-order mark, or Latin-1 without control
 *   characters; whatever media type it declares) is inspected like a message, and redactions are
 *   written back in the same encoding;
 * - everything else (real images and audio, binary files, remote URLs, file ids) cannot be read and
 *   counts as uninspectable: the project's `uninspectableInputs` decides, and the audit event counts them;
 *   a remote URL's own text is inspected all the same (remoteUrlOf).
 */

export type MediaKind = "image" | "audio";

/** The longest image signature `hasImageSignature` reads (WebP: RIFF....WEBP). */
const IMAGE_SIGNATURE_BYTES = 12;

/** Throws a 400 naming `param` when an image or audio part's inline data is not of its kind. */
export function checkMediaPart(kind: MediaKind, value: unknown, param: string): void {
  if (typeof value !== "string") return;
  // An image is a URL (data: or remote); audio is bare base64 by definition.
  const data = inlineData(value, { bareBase64: kind === "audio" });
  if (data === null) return;
  if (data.mediaType !== null && !data.mediaType.startsWith(`${kind}/`)) {
    throw notMedia(kind, param, `a data: URL whose media type is not ${kind}/*`);
  }
  // An image is recognised by its first bytes: most are, and then nothing more is decoded.
  if (kind === "image" && hasImageSignature(data.head(IMAGE_SIGNATURE_BYTES))) return;
  const bytes = data.bytes();
  if (kind === "image" && hasImageSignature(bytes)) return;
  if (bytes.length > 0 && textOf(bytes) !== null) throw notMedia(kind, param, "text, not an encoded " + kind);
}

function notMedia(kind: MediaKind, param: string, what: string): PalisadeError {
  return new PalisadeError(
    400,
    "invalid_request_error",
    "invalid_request",
    `'${param}' is ${what}. An ${kind} part must carry ${kind === "image" ? "an image" : "audio"}; send text as a text part (or a file part), where it is inspected.`,
    { param },
  );
}

/**
 * A data value that is not inline data: a URL the provider fetches (an image's, a file's). The fetched
 * bytes cannot be read (uninspectable), but the URL itself is text the provider receives and sends on
 * to the host it names (a value in its path or query reaches both): inspected as text. Null for inline data.
 */
export const remoteUrlOf = (value: unknown): string | null => (typeof value === "string" && value !== "" && inlineData(value, { bareBase64: false }) === null ? value : null);

/** A file's inline data when it is text: the text, and how to write a redacted text back. */
export interface InlineText {
  readonly text: string;
  readonly encode: (text: string) => string;
}

/** `file_data` (a data URL, or bare base64 as some clients send it) read as text (fileTextOf's encodings); null when it is not text. */
export function inlineFileText(value: unknown): InlineText | null {
  if (typeof value !== "string") return null;
  const data = inlineData(value, { bareBase64: true });
  if (data === null) return null;
  const decoded = fileTextOf(data.bytes());
  return decoded === null ? null : { text: decoded.text, encode: (text) => data.encode(text, decoded.charset) };
}
