import { scoreWithContext } from "../context.js";
import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";

// Letters beyond ASCII are allowed (RFC 6531 internationalised addresses: "jürgen@müller.de", "用户@例子.中国").
// In the scan view Latin-1 letters stay themselves and other scripts' letters are the stand-in U+00AA.
function isLetterOrDigit(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 0xaa || (code >= 0xc0 && code <= 0xff && code !== 0xd7 && code !== 0xf7);
}
/** [A-Za-z0-9._%+'-] and letters beyond ASCII */
function isLocalChar(code: number): boolean {
  return isLetterOrDigit(code) || code === 46 || code === 95 || code === 37 || code === 43 || code === 45 || code === 39;
}
/** [A-Za-z0-9.-] and letters beyond ASCII */
function isDomainChar(code: number): boolean {
  return isLetterOrDigit(code) || code === 46 || code === 45;
}
const TLD = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{2,59}|[\u00AA\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF]{2,63})$/;
// "icon@2x.png" is a file name, not an address: no such top-level domains exist.
const FILE_EXTENSIONS = new Set(["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "js", "ts", "css", "html", "json", "txt", "md"]);
const MAIL_LABEL = /^(?:mailto|e-?mail|mail|contact|kontakt|to|from|cc|bcc|reply-to|an|von|de|à|a|aan|van|da|correo|courriel|adresse|address|indirizzo)$/i;

/**
 * "user:password@host" inside a URL's authority ("postgres://app:pw@db") or a DSN ("DSN=app:pw@db"): the
 * part before "@" is a password, not a mailbox. The word holding the address is walked back to its start;
 * a ":" in it that does not follow a mail label ("mailto:", "E-Mail:") makes it credentials.
 */
function insideCredentials(text: string, units: Uint16Array, localStart: number): boolean {
  let i = localStart;
  let colon = -1;
  while (i > 0 && localStart - i < 128) {
    const code = units[i - 1] ?? 0;
    if (code <= 32 || code === 47 || code === 40 || code === 60 || code === 34 || code === 39 || code === 61 || code === 44 || code === 59) break;
    if (code === 58) colon = i - 1;
    i -= 1;
  }
  if (colon === -1) return false;
  // The first ":" of the word: what precedes it is a user name, or a label such as "mailto".
  return !MAIL_LABEL.test(text.slice(i, colon));
}

function hasDoubleDot(units: Uint16Array, from: number, to: number): boolean {
  for (let i = from + 1; i < to; i += 1) if (units[i] === 46 && units[i - 1] === 46) return true;
  return false;
}

/**
 * Labels of the domain text[from, to) (domain characters only): at least two, each 1-63 long, not starting
 * or ending with "-". Returns where the last label (the TLD) starts, or -1. One walk, no split.
 */
function domainLabelsValid(units: Uint16Array, from: number, to: number): number {
  let labelStart = from;
  let labels = 0;
  for (let i = from; i <= to; i += 1) {
    if (i < to && units[i] !== 46) continue;
    const length = i - labelStart;
    if (length < 1 || length > 63 || units[labelStart] === 45 || units[i - 1] === 45) return -1;
    labels += 1;
    if (i < to) labelStart = i + 1;
  }
  return labels >= 2 ? labelStart : -1;
}

/** Finds addresses by their "@" and grows outwards: one cheap indexOf pass instead of a regex from every letter. */
export function detectEmails(text: string, out: Candidate[]): void {
  let at = text.indexOf("@");
  // Only once an "@" is found: a text without one never copies its units.
  const units = at === -1 ? null : codeUnitsOf(text);
  while (at !== -1 && units !== null) {
    let start = at;
    while (start > 0 && isLocalChar(units[start - 1] ?? 0) && at - start < 64) start -= 1;
    while (start < at && (units[start] === 46 || units[start] === 39)) start += 1;
    let end = at + 1;
    while (end < text.length && isDomainChar(units[end] ?? 0) && end - at <= 253) end += 1;
    while (end > at + 1 && (units[end - 1] === 46 || units[end - 1] === 45)) end -= 1;
    if (insideCredentials(text, units, start)) {
      at = text.indexOf("@", at + 1);
      continue;
    }
    const tldStart = domainLabelsValid(units, at + 1, end);
    const tld = tldStart === -1 ? "" : text.slice(tldStart, end);
    const valid =
      start < at &&
      units[at - 1] !== 46 &&
      !hasDoubleDot(units, start, at) &&
      tldStart !== -1 &&
      TLD.test(tld) &&
      !(tld.length <= 4 && FILE_EXTENSIONS.has(tld.toLowerCase())) &&
      text.charAt(end) !== "@";
    if (valid) out.push({ type: "EMAIL_ADDRESS", start, end, score: scoreWithContext("EMAIL_ADDRESS", 0.9, text, start) });
    at = text.indexOf("@", at + 1);
  }
}
