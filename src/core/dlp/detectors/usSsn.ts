import { hasPositiveContext, scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

// AAA-GG-SSSS with one consistent delimiter (dash, space, dot), or nine bare digits.
const CANDIDATE = /(?<![\w.+\-/:])(\d{3})([- .]?)(\d{2})\2(\d{4})(?![\w]|[.\-/:]\d)/y;

export function validSsnParts(area: string, group: string, serial: string): boolean {
  if (area === "000" || area === "666" || area.charAt(0) === "9") return false;
  if (group === "00" || serial === "0000") return false;
  const all = area + group + serial;
  if (/^(\d)\1{8}$/.test(all) || all === "123456789") return false;
  return true;
}

/** Tries an SSN starting exactly at `position`; returns its end, or -1. */
export function usSsnAt(text: string, position: number, out: Candidate[]): number {
  // The area is three digits; most digit groups are shorter.
  const d1 = text.charCodeAt(position + 1);
  const d2 = text.charCodeAt(position + 2);
  if (!(d1 >= 48 && d1 <= 57 && d2 >= 48 && d2 <= 57)) return -1;
  CANDIDATE.lastIndex = position;
  const m = CANDIDATE.exec(text);
  if (m === null) return -1;
  const [match, area = "", delimiter = "", group = "", serial = ""] = m;
  if (!validSsnParts(area, group, serial)) return -1;
  let base: number;
  if (delimiter === "-") base = 0.6;
  else if (delimiter === "") {
    // Nine bare digits are everywhere (ids, amounts): only with a context word.
    if (!hasPositiveContext("US_SSN", text, position)) return -1;
    base = 0.3;
  } else base = 0.5;
  out.push({ type: "US_SSN", start: position, end: position + match.length, score: scoreWithContext("US_SSN", base, text, position) });
  return position + match.length;
}
