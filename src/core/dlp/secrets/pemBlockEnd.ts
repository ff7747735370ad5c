const BASE64_LINE = /^[A-Za-z0-9+/=]+$/;
const ARMOR_HEADER = /^[A-Za-z-]+: /;

/** End of a PEM or PGP block: its END line, or (no END yet) the last base64 line after the header. */
export function pemBlockEnd(text: string, headerEnd: number, label: string, block: string): number {
  const endMarker = `-----END ${label}PRIVATE KEY${block}-----`;
  const endAt = text.indexOf(endMarker, headerEnd);
  const nextBegin = text.indexOf("-----BEGIN", headerEnd);
  if (endAt !== -1 && (nextBegin === -1 || endAt < nextBegin)) return endAt + endMarker.length;
  let end = headerEnd;
  let lineStart = headerEnd;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).trim();
    if (line !== "" && !BASE64_LINE.test(line) && !ARMOR_HEADER.test(line)) break;
    if (line !== "") end = lineStart + text.slice(lineStart, lineEnd).trimEnd().length;
    lineStart = lineEnd + 1;
  }
  return end;
}
