import { countrySpecs } from "ibantools";
import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";
import { isValidIban } from "./isValidIban.js";

// Country code, check digits, then BBAN characters in groups with at most one space, or one line break
// (an IBAN wrapped in an e-mail), between them.
const CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \r\n]{0,2}[A-Za-z0-9]){8,32}/g;

/** IBAN length by country code ((first - 65) * 26 + second - 65, upper case), 0 for no IBAN country: no string key per candidate. */
const LENGTH_BY_COUNTRY = new Uint8Array(26 * 26);
for (const [country, spec] of Object.entries(countrySpecs)) {
  const first = country.charCodeAt(0) - 65;
  const second = country.charCodeAt(1) - 65;
  if (country.length === 2 && first >= 0 && first < 26 && second >= 0 && second < 26 && (spec.chars ?? 0) > 0) LENGTH_BY_COUNTRY[first * 26 + second] = spec.chars ?? 0;
}

function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * Reads one candidate in a single walk over the text (no per-character string building): the country's
 * length of characters, skipping spaces and line breaks; returns where the value ends, or -1 when its
 * shape is not an IBAN's (too short, glued to more, mixed case, spaced other than in fours).
 */
function readIban(text: string, from: number, limit: number, length: number): number {
  let taken = 0;
  let end = from;
  let lower = false;
  let upper = false;
  let wrapped = false;
  let spaced = false;
  let carriageReturn = false;
  let groupsInFours = true;
  let groupLength = 0;
  let previousWasSpace = false;
  for (let i = from; i < limit && taken < length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 32 || code === 10 || code === 13) {
      if (code === 32) {
        spaced = true;
        if (groupLength !== 4 || previousWasSpace) groupsInFours = false;
      } else if (code === 10) wrapped = true;
      else carriageReturn = true;
      previousWasSpace = code === 32;
      groupLength = 0;
      continue;
    }
    previousWasSpace = false;
    if (code >= 97) lower = true;
    else if (code >= 65) upper = true;
    groupLength += 1;
    taken += 1;
    end = i + 1;
  }
  if (taken < length || isAlnum(text.charCodeAt(end))) return -1;
  // Mixed case inside one value is not how IBANs are written.
  if (lower && upper) return -1;
  // Spaced in fours (the last group 1-4); a value wrapped over a line break is trusted to its length and checksum alone.
  if (spaced && !wrapped && (carriageReturn || !groupsInFours || groupLength > 4)) return -1;
  return end;
}

const codes: number[] = [];

/** The value's characters without spaces and line breaks, upper case: one flat string from the codes (joining slices made a rope that upper-casing then flattened). */
function compactOf(text: string, from: number, to: number): string {
  codes.length = 0;
  for (let i = from; i < to; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 32 || code === 10 || code === 13) continue;
    codes.push(code >= 97 && code <= 122 ? code - 32 : code);
  }
  return String.fromCharCode(...codes);
}

export function detectIbans(text: string, out: Candidate[]): void {
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    const start = m.index;
    const length = LENGTH_BY_COUNTRY[((text.charCodeAt(start) & ~32) - 65) * 26 + (text.charCodeAt(start + 1) & ~32) - 65] ?? 0;
    const end = length === 0 ? -1 : readIban(text, start, start + m[0].length, length);
    if (end === -1 || !isValidIban(compactOf(text, start, end))) {
      CANDIDATE.lastIndex = start + 2;
      continue;
    }
    out.push({ type: "IBAN_CODE", start, end, score: scoreWithContext("IBAN_CODE", 0.9, text, start) });
    CANDIDATE.lastIndex = end;
  }
}
