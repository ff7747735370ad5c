import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

// Digits with the usual phone punctuation, optionally "+" or "00" first; not glued to words or ids (a "tel:" URI is fine).
const CANDIDATE = /(?<![\w+\-./#@=$€£%])(?:(?<=tel:)|(?<!:))(?:\+ ?|00)?(?:\(\d{1,5}\)|\d)(?:(?: ?[-./] ?| {1,2})?(?:\(\d{1,5}\)|\d)){5,17}(?![\w@%]|[-./,:]\d)/y;
// Dates, dotted quads, ZIP+4 and SSN shapes: one test. None is longer than 15 characters.
const NOT_A_PHONE = /^(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}|\d{5}-\d{4}|\d{3}([- .])\d{2}\1\d{4})$/;
const NANP = new Set(["US", "CA", "PR", "GU", "VI", "AS", "MP", "AG", "AI", "BB", "BM", "BS", "DM", "DO", "GD", "JM", "KN", "KY", "LC", "MS", "SX", "TC", "TT", "VC", "VG"]);

function isCountryCode(region: string): region is CountryCode {
  return /^[A-Z]{2}$/.test(region);
}

function validInternational(digits: string): boolean {
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  return parsed !== undefined && parsed.isValid();
}

/** National form for one of the policy's regions; outside NANP the trunk prefix 0 is required, so dates and ids stay out. */
function validNational(digits: string, regions: readonly string[]): boolean {
  for (const region of regions) {
    if (!isCountryCode(region)) continue;
    if (NANP.has(region)) {
      // NXX-NXX-XXXX: area code and exchange never start with 0 or 1.
      const ten = digits.length === 11 && digits.startsWith("1") ? digits.slice(1) : digits;
      if (ten.length !== 10 || ten.charCodeAt(0) < 50 || ten.charCodeAt(3) < 50) continue;
    } else if (!digits.startsWith("0") || digits.startsWith("00")) continue;
    const parsed = parsePhoneNumberFromString(digits, region);
    if (parsed !== undefined && parsed.isValid()) return true;
  }
  return false;
}

function countDigits(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 48 && code <= 57) count += 1;
  }
  return count;
}

/** The ASCII digits of `value` (the candidate pattern admits no others). */
function digitsOf(value: string): string {
  let digits = "";
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 48 && code <= 57) digits += value.charAt(i);
  }
  return digits;
}

/** Tries a phone number starting exactly at `position`; returns its end, or -1. */
export function phoneNumberAt(text: string, position: number, out: Candidate[], regions: readonly string[], threshold = 0): number {
  CANDIDATE.lastIndex = position;
  const m = CANDIDATE.exec(text);
  if (m === null) return -1;
  const match = m[0];
  const international = match.startsWith("+") || match.startsWith("00");
  // The length check first: it needs no string.
  const nationalLength = countDigits(match) - (international && match.startsWith("00") ? 2 : 0);
  if (nationalLength < 7 || nationalLength > 15) return -1;
  if (match.length <= 15 && NOT_A_PHONE.test(match)) return -1;
  const digits = digitsOf(match);
  const national = international && match.startsWith("00") ? digits.slice(2) : digits;
  const formatted = /[\s\-./()]/.test(match);
  const base = international ? (formatted ? 0.75 : 0.6) : formatted ? 0.6 : 0.4;
  const score = scoreWithContext("PHONE_NUMBER", base, text, position);
  // Validation is the expensive part (metadata patterns): skip it when the score could not pass anyway.
  if (score < threshold) return -1;
  const valid = international ? validInternational(national) : validNational(digits, regions);
  if (!valid) return -1;
  out.push({ type: "PHONE_NUMBER", start: position, end: position + match.length, score });
  return position + match.length;
}
