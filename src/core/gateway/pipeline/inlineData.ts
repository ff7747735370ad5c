/**
 * Data carried inline in a request (a `data:` URL, or bare base64 such as `input_audio.data` and some
 * clients' `file_data`): its declared media type, its bytes, and how to write text back in the same
 * form. Inline data is how text could ride past input DLP inside an "image" or a "file", so every part
 * that carries it is decoded here and judged by what it holds, not by what it claims.
 */
export interface InlineData {
  /** The declared media type, lower case without parameters (`image/png`); null for bare base64. */
  readonly mediaType: string | null;
  /** The decoded bytes (computed on each call: keep the result). */
  readonly bytes: () => Uint8Array;
  /**
   * About the first `count` bytes, decoding only the start (an image's signature without decoding
   * megabytes); may be fewer or differ where the start is oddly encoded, so only a positive match on
   * it may skip \`bytes()\`.
   */
  readonly head: (count: number) => Uint8Array;
  /** The same value (same prefix, same encoding) carrying `text` instead, as UTF-8 or in `charset`. */
  readonly encode: (text: string, charset?: TextCharset) => string;
}

const DATA_URL = /^data:([^,]*),/i;
const BASE64 = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;

/**
 * Reads `value` as a data URL (RFC 2397), or as bare base64 when `bareBase64` is set (fields that
 * hold base64 by definition). Null when it is neither (an http(s) URL, a file id, junk).
 */
export function inlineData(value: string, options: { readonly bareBase64: boolean }): InlineData | null {
  const header = DATA_URL.exec(value.trimStart());
  if (header) {
    const prefix = value.slice(0, value.indexOf(",") + 1);
    const payload = value.slice(prefix.length);
    const parameters = (header[1] ?? "").split(";").map((part) => part.trim());
    const isBase64 = parameters.slice(1).some((part) => part.toLowerCase() === "base64");
    // RFC 2397: no media type means text/plain.
    const mediaType = (parameters[0] ?? "").toLowerCase() || "text/plain";
    return {
      mediaType,
      bytes: () => (isBase64 ? base64Bytes(payload) : percentDecoded(payload)),
      head: (count) => (isBase64 ? base64Head(payload, count) : percentDecoded(payload.slice(0, count * 3)).subarray(0, count)),
      encode: (text, charset = "utf8") => prefix + (isBase64 ? encodedText(text, charset).toString("base64") : charset === "utf8" ? encodeURIComponent(text) : percentEncoded(encodedText(text, charset))),
    };
  }
  if (!options.bareBase64 || !BASE64.test(value)) return null;
  return { mediaType: null, bytes: () => base64Bytes(value), head: (count) => base64Head(value, count), encode: (text, charset = "utf8") => encodedText(text, charset).toString("base64") };
}

const base64Bytes = (payload: string): Uint8Array => Buffer.from(decodeURIComponentSafe(payload), "base64");
/** Four base64 characters per three bytes: the start of the payload only. */
const base64Head = (payload: string, count: number): Uint8Array => base64Bytes(payload.slice(0, Math.ceil(count / 3) * 4)).subarray(0, count);

/** Base64 in a URL may itself be percent-encoded (`%2B` for `+`). */
function decodeURIComponentSafe(payload: string): string {
  if (!payload.includes("%")) return payload;
  return Buffer.from(percentDecoded(payload)).toString("latin1");
}

function percentDecoded(payload: string): Uint8Array {
  const bytes: number[] = [];
  for (let index = 0; index < payload.length; index += 1) {
    const code = payload.charCodeAt(index);
    if (code === 0x25 && /^[0-9A-Fa-f]{2}$/.test(payload.slice(index + 1, index + 3))) {
      bytes.push(Number.parseInt(payload.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      for (const byte of Buffer.from(payload[index] ?? "", "utf8")) bytes.push(byte);
    }
  }
  return Uint8Array.from(bytes);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The bytes as text when they are text (valid UTF-8 without NUL bytes: what every text format is and
 * images, audio and compressed documents never are); null otherwise.
 */
export function textOf(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** How a file's text is encoded: written back the same way. */
export type TextCharset = "utf8" | "utf16le" | "utf16be" | "latin1";

/**
 * A file's bytes as text in whichever encoding text files come in: UTF-8; UTF-16 with its byte-order
 * mark; otherwise Latin-1 / Windows-1252 when no byte is a control character but tab, line and page
 * breaks (binary formats, images and compressed streams are full of them; a PDF with uncompressed
 * text and a binary comment line is not, and is read). Null for binary.
 */
export function fileTextOf(bytes: Uint8Array): { readonly text: string; readonly charset: TextCharset } | null {
  const utf8 = textOf(bytes);
  if (utf8 !== null) return { text: utf8, charset: "utf8" };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length % 2 === 0 && bytes[0] === 0xff && bytes[1] === 0xfe) return { text: buffer.toString("utf16le", 2), charset: "utf16le" };
  if (bytes.length % 2 === 0 && bytes[0] === 0xfe && bytes[1] === 0xff) return { text: Buffer.from(buffer.subarray(2)).swap16().toString("utf16le"), charset: "utf16be" };
  for (const byte of bytes) if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) || byte === 0x7f) return null;
  return { text: buffer.toString("latin1"), charset: "latin1" };
}

function encodedText(text: string, charset: TextCharset): Buffer {
  switch (charset) {
    case "utf8":
      return Buffer.from(text, "utf8");
    case "latin1":
      return Buffer.from(text, "latin1");
    case "utf16le":
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    case "utf16be":
      return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()]);
  }
}

const percentEncoded = (bytes: Uint8Array): string => Array.from(bytes, (byte) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, "0").toUpperCase()}`)).join("");

/** First bytes of the image formats the model services take (PNG, JPEG, GIF, WebP). */
export function hasImageSignature(bytes: Uint8Array): boolean {
  const starts = (...signature: number[]): boolean => signature.every((byte, index) => bytes[index] === byte);
  return (
    starts(0x89, 0x50, 0x4e, 0x47) ||
    starts(0xff, 0xd8, 0xff) ||
    starts(0x47, 0x49, 0x46, 0x38) ||
    (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50)
  );
}
