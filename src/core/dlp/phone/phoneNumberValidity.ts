import metadata from "libphonenumber-js/metadata.max.json";
import { DigitAutomaton } from "./DigitAutomaton.js";

/**
 * Phone number validity from libphonenumber's full ("max") metadata. libphonenumber-js builds a RegExp
 * from the metadata strings on every `isValid()` call (10-20 µs per candidate, 38 % of the scan time on
 * dense text); this does what `isValid()` does — possible length, the country's general pattern, then
 * one of its number-type patterns (fixed line, mobile, toll free, ...) with that type's lengths — with
 * each region's patterns compiled once into a `DigitAutomaton` that reads digits from a buffer.
 */

interface RegionRules {
  readonly callingCode: string;
  readonly nationalPrefix: string | null;
  readonly automaton: DigitAutomaton;
}

// The metadata is positional arrays (libphonenumber-js's compressed format, version 4):
// [0] calling code, [2] general national-number pattern, [3] possible lengths, [5] national prefix, [11] types.
type RawCountry = readonly unknown[];
const countries = metadata.countries as unknown as Record<string, RawCountry>;
const callingCodes = metadata.country_calling_codes as unknown as Record<string, readonly string[]>;

const compiled = new Map<string, RegionRules | null>();

function lengthsOf(value: unknown): number[] | null {
  return Array.isArray(value) ? value.filter((n): n is number => typeof n === "number") : null;
}

function compile(region: string): RegionRules | null {
  const raw = countries[region];
  if (raw === undefined) return null;
  const [code, , general, lengths] = raw;
  const prefix = raw[5];
  const types = Array.isArray(raw[11]) ? (raw[11] as unknown[]) : [];
  if (typeof code !== "string" || typeof general !== "string") return null;
  return {
    callingCode: code,
    nationalPrefix: typeof prefix === "string" && prefix !== "" ? prefix : null,
    automaton: new DigitAutomaton(
      general,
      types.flatMap((entry) => (Array.isArray(entry) && typeof entry[0] === "string" ? [{ pattern: entry[0], lengths: lengthsOf(entry[1]) }] : [])),
      lengthsOf(lengths) ?? [],
    ),
  };
}

export function regionRules(region: string): RegionRules | null {
  let rules = compiled.get(region);
  if (rules === undefined) {
    rules = compile(region);
    compiled.set(region, rules);
  }
  return rules;
}

/** Digit values of a string of digits, for the string forms below (the scan fills its buffer from the text). */
const stringDigits = new Uint8Array(64);

function toDigits(digits: string): number {
  const length = Math.min(digits.length, stringDigits.length);
  for (let i = 0; i < length; i += 1) {
    const value = digits.charCodeAt(i) - 48;
    if (value < 0 || value > 9) return -1;
    stringDigits[i] = value;
  }
  return digits.length > stringDigits.length ? -1 : length;
}

/** digits[from, to) are a national significant number (no trunk prefix, no country code) valid in `region`. */
export function isValidNationalDigits(digits: Uint8Array, from: number, to: number, region: string): boolean {
  return regionRules(region)?.automaton.accepts(digits, from, to) ?? false;
}

/** Whether digits[from, ...) start with the digits of `prefix`. */
export function startsWithDigits(digits: Uint8Array, from: number, to: number, prefix: string): boolean {
  if (to - from < prefix.length) return false;
  for (let k = 0; k < prefix.length; k += 1) if (digits[from + k] !== prefix.charCodeAt(k) - 48) return false;
  return true;
}

/** Regions by calling code as a number (calling codes have no leading zero), so a look-up needs no slice. */
const REGIONS_BY_CODE: (readonly string[] | undefined)[] = [];
for (const [code, regions] of Object.entries(callingCodes)) if (!code.startsWith("0")) REGIONS_BY_CODE[Number(code)] = regions;

/** digits[from, to) after "+" or "00": a calling code of one to three digits, then a number valid in one of its regions. */
export function isValidInternationalDigits(digits: Uint8Array, from: number, to: number): boolean {
  if (digits[from] === 0) return false;
  let code = 0;
  for (let codeLength = 1; codeLength <= 3 && codeLength < to - from; codeLength += 1) {
    code = code * 10 + (digits[from + codeLength - 1] ?? 0);
    const regions = REGIONS_BY_CODE[code];
    if (regions === undefined) continue;
    const national = from + codeLength;
    for (const region of regions) {
      if (isValidNationalDigits(digits, national, to, region)) return true;
      // "+49 (0)30 901820": the trunk prefix written in brackets after the country code.
      const prefix = regionRules(region)?.nationalPrefix;
      if (prefix != null && startsWithDigits(digits, national, to, prefix) && isValidNationalDigits(digits, national + prefix.length, to, region)) return true;
    }
    return false;
  }
  return false;
}

/** A national significant number (no trunk prefix, no country code) valid in `region`. */
export function isValidNationalNumber(nationalNumber: string, region: string): boolean {
  const length = toDigits(nationalNumber);
  return length >= 0 && isValidNationalDigits(stringDigits, 0, length, region);
}

/** Digits after "+" or "00": a calling code of one to three digits, then a number valid in one of its regions. */
export function isValidInternationalNumber(digits: string): boolean {
  const length = toDigits(digits);
  return length >= 0 && isValidInternationalDigits(stringDigits, 0, length);
}

/** Digits as written nationally in `region` (with its trunk prefix where it has one). */
export function isValidNationalForm(digits: string, region: string): boolean {
  const rules = regionRules(region);
  if (rules === null) return false;
  if (rules.nationalPrefix === null) return isValidNationalNumber(digits, region);
  if (!digits.startsWith(rules.nationalPrefix)) return false;
  return isValidNationalNumber(digits.slice(rules.nationalPrefix.length), region);
}

/** Whether the region writes national numbers with a trunk prefix ("0" in most of Europe, "1" in NANP). */
export function hasTrunkPrefix(region: string): boolean {
  return regionRules(region)?.nationalPrefix != null;
}
