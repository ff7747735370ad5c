import metadata from "libphonenumber-js/metadata.max.json";
import { DigitAutomaton, type TypeSource } from "./DigitAutomaton.js";

/**
 * Phone number validity from libphonenumber's full ("max") metadata. libphonenumber-js builds a RegExp
 * from the metadata strings on every `isValid()` call (10-20 µs per candidate, 38 % of the scan time on
 * dense text); this does what `isValid()` does — possible length, the country's general pattern, then
 * one of its number-type patterns (fixed line, mobile, toll free, ...) with that type's lengths — with
 * expressions compiled once, and for a region validated often, a `DigitAutomaton` that reads the digits
 * from the caller's buffer (no string, one table read per digit). Building an automaton costs about a
 * millisecond (tens when the process is cold), so a region gets one only after HOT_AFTER validations: a
 * process's first prompts with phone numbers do not pay for every region at once.
 */

interface TypePattern {
  readonly pattern: RegExp;
  readonly lengths: ReadonlySet<number> | null;
}

interface RegionRules {
  readonly callingCode: string;
  readonly nationalPrefix: string | null;
  readonly lengths: ReadonlySet<number>;
  readonly general: RegExp;
  readonly types: readonly TypePattern[];
  readonly typeSources: readonly TypeSource[];
  readonly generalSource: string;
  /** Validations so far, until the automaton is built. */
  uses: number;
  automaton: DigitAutomaton | null;
}

const HOT_AFTER = 32;

// The metadata is positional arrays (libphonenumber-js's compressed format, version 4):
// [0] calling code, [2] general national-number pattern, [3] possible lengths, [5] national prefix, [11] types.
type RawCountry = readonly unknown[];
const countries = metadata.countries as unknown as Record<string, RawCountry>;
const callingCodes = metadata.country_calling_codes as unknown as Record<string, readonly string[]>;

const compiled = new Map<string, RegionRules | null>();

function lengthsOf(value: unknown): number[] | null {
  return Array.isArray(value) ? value.filter((n): n is number => typeof n === "number") : null;
}

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function compile(region: string): RegionRules | null {
  const raw = countries[region];
  if (raw === undefined) return null;
  const [code, , general, lengths] = raw;
  const prefix = raw[5];
  const types = Array.isArray(raw[11]) ? (raw[11] as unknown[]) : [];
  if (typeof code !== "string" || typeof general !== "string") return null;
  // Mobile first (the second entry): most numbers in prompts are mobiles, and a fixed-line pattern is often the longest to fail.
  // Any type's match makes the number valid, so the order changes no verdict.
  const typeSources = [types[1], types[0], ...types.slice(2)].flatMap((entry) =>
    Array.isArray(entry) && typeof entry[0] === "string" ? [{ pattern: entry[0], lengths: lengthsOf(entry[1]) }] : [],
  );
  return {
    callingCode: code,
    nationalPrefix: typeof prefix === "string" && prefix !== "" ? prefix : null,
    lengths: new Set(lengthsOf(lengths) ?? []),
    general: anchored(general),
    types: typeSources.map((type) => ({ pattern: anchored(type.pattern), lengths: type.lengths === null ? null : new Set(type.lengths) })),
    typeSources,
    generalSource: general,
    uses: 0,
    automaton: null,
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

/** The anchored expressions' verdict on digits[from, to), as a string (a region not validated often yet). */
function byExpressions(rules: RegionRules, digits: Uint8Array, from: number, to: number): boolean {
  if (!rules.lengths.has(to - from)) return false;
  let national = "";
  for (let i = from; i < to; i += 1) national += String.fromCharCode(48 + (digits[i] ?? 0));
  if (!rules.general.test(national)) return false;
  for (const type of rules.types) {
    if ((type.lengths === null || type.lengths.has(national.length)) && type.pattern.test(national)) return true;
  }
  return false;
}

/** digits[from, to) are a national significant number (no trunk prefix, no country code) valid in `region`. */
export function isValidNationalDigits(digits: Uint8Array, from: number, to: number, region: string): boolean {
  const rules = regionRules(region);
  if (rules === null) return false;
  if (rules.automaton === null) {
    rules.uses += 1;
    if (rules.uses < HOT_AFTER) return byExpressions(rules, digits, from, to);
    rules.automaton = new DigitAutomaton(rules.generalSource, rules.typeSources, rules.lengths);
  }
  return rules.automaton.accepts(digits, from, to);
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
