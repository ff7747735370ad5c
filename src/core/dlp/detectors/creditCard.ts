import { scoreWithContext } from "../context.js";
import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";

// 13-19 digits, optionally grouped by one kind of separator (a line break may stand for a space: a number
// wrapped in an e-mail); not glued to words, decimals or longer runs. A "," after it ends it: in a CSV row
// the next field may be a number ("...,4111111111111111,149.90").
const CANDIDATE = /(?<![\w.+\-/])\d(?:(?:[ .-]|\r?\n)?\d){12,18}(?![\w]|[.\-/]\d)/y;

/** The number the first `count` digits spell. */
function prefix(digits: ArrayLike<number>, count: number): number {
  let value = 0;
  for (let i = 0; i < count; i += 1) value = value * 10 + (digits[i] ?? 0);
  return value;
}

/** Issuer prefixes and lengths of the major brands (Visa, Mastercard incl. 2-series, Amex, Discover, JCB, Diners, UnionPay, Maestro, Mir, RuPay). */
export function knownBrand(digits: ArrayLike<number>, n: number = digits.length): boolean {
  const first = digits[0] ?? 0;
  if (first < 2 || first > 6) return false;
  const p2 = prefix(digits, 2);
  const p3 = prefix(digits, 3);
  const p4 = prefix(digits, 4);
  switch (first) {
    case 4:
      return n === 13 || n === 16 || n === 19;
    case 5:
      if (p2 >= 51 && p2 <= 55) return n === 16;
      return n >= 13; // Maestro 50, 56-59 and RuPay 508
    case 2:
      if (p4 >= 2221 && p4 <= 2720) return n === 16;
      return p4 >= 2200 && p4 <= 2204 && n >= 16; // Mir
    case 3:
      if (p2 === 34 || p2 === 37) return n === 15;
      if (p4 >= 3528 && p4 <= 3589) return n >= 16;
      if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14;
      return false;
    case 6: {
      const p6 = prefix(digits, 6);
      return n >= 13 || (p6 >= 622126 && p6 <= 622925); // Discover, UnionPay, Maestro, RuPay, Verve
    }
    default:
      return false;
  }
}

/**
 * The candidate's digit values, in one buffer reused by every candidate (an array emptied and pushed to
 * again reallocated its storage each time); `digitCount` of them are this candidate's. The candidate
 * expression allows at most 19 digits.
 */
const scratch = new Uint8Array(32);
let digitCount = 0;

/**
 * Digits and grouping of a candidate in one walk (no copies): 0.8 grouped in fours (one kind of
 * separator, a line break standing for a space; the last group 1-6, the others 4-6, at most five),
 * 0.6 ungrouped, null when the grouping is not a card's. Writes the digit values into `scratch`.
 */
function readCandidate(text: string, from: number, to: number): number | null {
  digitCount = 0;
  let kind = 0;
  let groups = 0;
  let groupLength = 0;
  let bad = false;
  const units = codeUnitsOf(text);
  for (let i = from; i < to; i += 1) {
    const code = units[i] ?? 0;
    if (code >= 48 && code <= 57) {
      if (digitCount < scratch.length) scratch[digitCount] = code - 48;
      digitCount += 1;
      groupLength += 1;
      continue;
    }
    if (code === 13) continue; // "\r\n": the "\n" that follows counts
    const separator = code === 10 ? 32 : code;
    if (kind === 0) kind = separator;
    else if (separator !== kind) return null;
    if (groupLength < 4 || groupLength > 6) bad = true;
    groups += 1;
    groupLength = 0;
  }
  if (kind === 0) return 0.6;
  if (bad || groupLength > 6 || groups + 1 > 5) return null;
  return 0.8;
}

function luhnValidDigits(digits: ArrayLike<number>, n: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = n - 1; i >= 0; i -= 1) {
    let d = digits[i] ?? 0;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function oneRepeatedDigit(digits: ArrayLike<number>, n: number): boolean {
  for (let i = 1; i < n; i += 1) if (digits[i] !== digits[0]) return false;
  return true;
}

/** Tries a card starting exactly at `position`; returns its end, or -1. */
export function creditCardAt(text: string, position: number, out: Candidate[]): number {
  const lead = text.charCodeAt(position);
  if (lead < 50 || lead > 54) return -1; // brands start with 2-6
  CANDIDATE.lastIndex = position;
  if (!CANDIDATE.test(text)) return -1;
  const end = CANDIDATE.lastIndex;
  const base = readCandidate(text, position, end);
  if (base === null || digitCount < 13 || digitCount > 19) return -1;
  if (!luhnValidDigits(scratch, digitCount) || oneRepeatedDigit(scratch, digitCount) || !knownBrand(scratch, digitCount)) return -1;
  out.push({ type: "CREDIT_CARD", start: position, end, score: scoreWithContext("CREDIT_CARD", base, text, position) });
  return end;
}
