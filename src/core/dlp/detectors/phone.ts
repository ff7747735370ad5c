import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

// Digits with the usual phone punctuation, optionally "+" or "00" first; not glued to words or ids (a "tel:" URI is fine).
const CANDIDATE = /(?<![\w+\-./#@=$€£%])(?:(?<=tel:)|(?<!:))(?:\+ ?|00)?(?:\(\d{1,5}\)|\d)(?:(?: ?[-./] ?| {1,2})?(?:\(\d{1,5}\)|\d)){5,17}(?![\w@%]|[-./,:]\d)/y;
const DATE = /^(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4})$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const ZIP_PLUS_4 = /^\d{5}-\d{4}$/;
const SSN_SHAPE = /^\d{3}([- .])\d{2}\1\d{4}$/;
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

/** Tries a phone number starting exactly at `position`; returns its end, or -1. */
export function phoneNumberAt(text: string, position: number, out: Candidate[], regions: readonly string[], threshold = 0): number {
  CANDIDATE.lastIndex = position;
  const m = CANDIDATE.exec(text);
  if (m === null) return -1;
  const match = m[0];
  if (DATE.test(match) || DOTTED_QUAD.test(match) || ZIP_PLUS_4.test(match) || SSN_SHAPE.test(match)) return -1;
  const international = match.startsWith("+") || match.startsWith("00");
  const digits = match.replace(/\D/g, "");
  const national = international && match.startsWith("00") ? digits.slice(2) : digits;
  if (national.length < 7 || national.length > 15) return -1;
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
