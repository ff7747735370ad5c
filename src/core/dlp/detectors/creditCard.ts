import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

// 13-19 digits, optionally grouped by one kind of separator (a line break may stand for a space: a number
// wrapped in an e-mail); not glued to words, decimals or longer runs. A "," after it ends it: in a CSV row
// the next field may be a number ("...,4111111111111111,149.90").
const CANDIDATE = /(?<![\w.+\-/])\d(?:(?:[ .-]|\r?\n)?\d){12,18}(?![\w]|[.\-/]\d)/y;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the major brands (Visa, Mastercard incl. 2-series, Amex, Discover, JCB, Diners, UnionPay, Maestro, Mir, RuPay). */
export function knownBrand(digits: string): boolean {
  const n = digits.length;
  const first = digits.charAt(0);
  if (first !== "2" && first !== "3" && first !== "4" && first !== "5" && first !== "6") return false;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  switch (first) {
    case "4":
      return n === 13 || n === 16 || n === 19;
    case "5":
      if (p2 >= 51 && p2 <= 55) return n === 16;
      return n >= 13; // Maestro 50, 56-59 and RuPay 508
    case "2":
      if (p4 >= 2221 && p4 <= 2720) return n === 16;
      return p4 >= 2200 && p4 <= 2204 && n >= 16; // Mir
    case "3":
      if (p2 === 34 || p2 === 37) return n === 15;
      if (p4 >= 3528 && p4 <= 3589) return n >= 16;
      if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14;
      return false;
    case "6":
      return n >= 13 || (p6 >= 622126 && p6 <= 622925); // Discover, UnionPay, Maestro, RuPay, Verve
    default:
      return false;
  }
}

function groupingScore(wrapped: string): number | null {
  const match = wrapped.replace(/\r?\n/g, " ");
  const separators = match.match(/[ .-]/g);
  if (separators === null) return 0.6;
  const kind = separators[0];
  if (!separators.every((s) => s === kind)) return null;
  const groups = match.split(kind ?? " ");
  if (groups.length > 5) return null;
  for (let i = 0; i < groups.length; i += 1) {
    const len = groups[i]?.length ?? 0;
    if (len < (i === groups.length - 1 ? 1 : 4) || len > 6) return null;
  }
  return 0.8;
}

/** Tries a card starting exactly at `position`; returns its end, or -1. */
export function creditCardAt(text: string, position: number, out: Candidate[]): number {
  const lead = text.charCodeAt(position);
  if (lead < 50 || lead > 54) return -1; // brands start with 2-6
  CANDIDATE.lastIndex = position;
  const m = CANDIDATE.exec(text);
  if (m === null) return -1;
  const match = m[0];
  const digits = match.replace(/[ .\r\n-]/g, "");
  if (digits.length < 13 || digits.length > 19) return -1;
  if (!knownBrand(digits) || !luhnValid(digits) || /^(\d)\1+$/.test(digits)) return -1;
  const base = groupingScore(match);
  if (base === null) return -1;
  out.push({ type: "CREDIT_CARD", start: position, end: position + match.length, score: scoreWithContext("CREDIT_CARD", base, text, position) });
  return position + match.length;
}
