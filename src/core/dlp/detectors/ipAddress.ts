import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
// Four octets, not part of a longer dotted run (OIDs, five-part versions) and not glued to words.
const IPV4 = new RegExp(`(?<![\\w.\\-]|\\d\\.)${OCTET}(?:\\.${OCTET}){3}(?![\\w\\-]|\\.\\d)`, "g");
const IPV4_EXACT = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
function isIpv6Char(code: number): boolean {
  return isHexOrColon(code) || code === 46;
}

function isHexOrColon(code: number): boolean {
  return (code >= 48 && code <= 58) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}
const WORD_CHAR = /\w/;
const HEADING_WORD = /^\.? [A-Z\u00C0-\u00DE]/;

function isLineStart(text: string, index: number): boolean {
  let i = index;
  while (i > 0 && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9 || text.charCodeAt(i - 1) === 35)) i -= 1;
  return i === 0 || text.charCodeAt(i - 1) === 10;
}
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

export function isIpv6(candidate: string): boolean {
  if (candidate.length < 2 || candidate.length > 45) return false;
  let body = candidate;
  let extraGroups = 0;
  const lastColon = body.lastIndexOf(":");
  if (body.includes(".")) {
    if (!IPV4_EXACT.test(body.slice(lastColon + 1))) return false;
    body = body.slice(0, lastColon + 1) + "0";
    extraGroups = 1;
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  if (!groups.every((group) => HEX_GROUP.test(group))) return false;
  const count = groups.length + extraGroups;
  if (halves.length === 1) return count === 8;
  if (count > 7) return false;
  // "::1" is loopback; otherwise ask for two groups and a digit, so "be::ef"-like code stays quiet.
  if (candidate === "::1" || candidate === "::") return true;
  return groups.length + extraGroups >= 2 && /\d/.test(candidate);
}

function hasColon(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i += 1) if (text.charCodeAt(i) === 58) return true;
  return false;
}

export function detectIpAddresses(text: string, out: Candidate[]): void {
  if (text.includes(".")) {
    IPV4.lastIndex = 0;
    for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
      // "2.1.1.4 Scope" at the start of a line is a numbered heading, not an address.
      const base = m[0].length <= 9 && isLineStart(text, m.index) && HEADING_WORD.test(text.slice(m.index + m[0].length, m.index + m[0].length + 3)) ? 0.2 : 0.6;
      out.push({ type: "IP_ADDRESS", start: m.index, end: m.index + m[0].length, score: scoreWithContext("IP_ADDRESS", base, text, m.index) });
    }
  }
  // IPv6: grow outwards from each colon over hex digits, colons and dots, then validate.
  let colon = text.indexOf(":");
  let doneUntil = 0;
  while (colon !== -1) {
    // An address has hex digits or another colon on at least one side of every colon ("owner: Anna" has neither after).
    if (colon >= doneUntil && (isHexOrColon(text.charCodeAt(colon + 1)) || isHexOrColon(text.charCodeAt(colon - 1)))) {
      let start = colon;
      while (start > 0 && isIpv6Char(text.charCodeAt(start - 1)) && colon - start < 45) start -= 1;
      let end = colon + 1;
      while (end < text.length && isIpv6Char(text.charCodeAt(end)) && end - start < 46) end += 1;
      doneUntil = end;
      // An address has at least two colons; "09:30" and "key:value" have one.
      const second = text.indexOf(":", colon + 1);
      if ((second === -1 || second >= end) && !hasColon(text, start, colon)) {
        colon = second;
        continue;
      }
      while (start < colon && text.charAt(start) === ".") start += 1;
      let candidate = text.slice(start, end);
      // Trailing punctuation of a sentence, or a port-like single colon, is not part of the address.
      while (candidate.endsWith(".") || (candidate.endsWith(":") && !candidate.endsWith("::"))) candidate = candidate.slice(0, -1);
      const stop = start + candidate.length;
      const glued = WORD_CHAR.test(text.charAt(start - 1)) || WORD_CHAR.test(text.charAt(stop));
      if (!glued && candidate.split(":").length >= 3 && isIpv6(candidate)) {
        out.push({ type: "IP_ADDRESS", start, end: stop, score: scoreWithContext("IP_ADDRESS", 0.7, text, start) });
      }
    }
    colon = text.indexOf(":", colon + 1);
  }
}
