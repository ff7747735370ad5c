import { invalidRequest } from "../errors.js";

/** The header an app may send to name its end user (instead of, or over, the body's `user`). */
export const SUBJECT_HEADER = "x-palisade-subject";
/** UTF-8 bytes; keeps the encrypted `subject` field well inside the event schema's 1,024 characters. */
export const MAX_SUBJECT_BYTES = 256;

export type HeaderSource = Readonly<Record<string, string | undefined>> | { get(name: string): string | null };

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | undefined>>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/**
 * Checks an end-user identifier: trimmed, NFC, 1..256 UTF-8 bytes, no control characters. Throws a
 * 400 (`invalid_request`, param `user`) that never echoes the value.
 */
export function normalizeSubjectId(value: string): string {
  const id = value.trim().normalize("NFC");
  // eslint-disable-next-line no-control-regex
  if (id.length === 0 || Buffer.byteLength(id, "utf8") > MAX_SUBJECT_BYTES || /[\u0000-\u001f\u007f]/.test(id)) {
    throw invalidRequest(`The end-user identifier (\`user\` or ${SUBJECT_HEADER}) must be 1 to ${MAX_SUBJECT_BYTES} bytes of printable text.`, "user");
  }
  return id;
}

/**
 * The end user a request is about: the `x-palisade-subject` header, else the body's `user` field;
 * null when neither is given. Pass the result to `SubjectProtector.protect` for the event's `subject`.
 */
export function subjectOf(headers: HeaderSource, bodyUser: unknown): string | null {
  const header = headerValue(headers, SUBJECT_HEADER);
  if (header !== undefined && header.trim() !== "") return normalizeSubjectId(header);
  if (typeof bodyUser === "string" && bodyUser.trim() !== "") return normalizeSubjectId(bodyUser);
  return null;
}
