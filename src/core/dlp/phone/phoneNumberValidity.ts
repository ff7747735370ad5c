import metadata from "libphonenumber-js/metadata.max.json";

/**
 * Phone number validity from libphonenumber's full ("max") metadata, with every pattern compiled ONCE.
 * libphonenumber-js builds a RegExp from the metadata strings on every `isValid()` call (10-20 µs per
 * candidate, 38 % of the scan time on dense text); this does what `isValid()` does — possible length,
 * the country's general pattern, then one of its number-type patterns (fixed line, mobile, toll free,
 * ...) — with cached anchored expressions, in well under a microsecond.
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
}

// The metadata is positional arrays (libphonenumber-js's compressed format, version 4):
// [0] calling code, [2] general national-number pattern, [3] possible lengths, [5] national prefix, [11] types.
type RawCountry = readonly unknown[];
const countries = metadata.countries as unknown as Record<string, RawCountry>;
const callingCodes = metadata.country_calling_codes as unknown as Record<string, readonly string[]>;

const compiled = new Map<string, RegionRules | null>();

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function lengthsOf(value: unknown): ReadonlySet<number> | null {
  return Array.isArray(value) ? new Set(value.filter((n): n is number => typeof n === "number")) : null;
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
    lengths: lengthsOf(lengths) ?? new Set(),
    general: anchored(general),
    // Mobile first (the second entry): most numbers in prompts are mobiles, and a fixed-line pattern is often the longest to fail.
    // Any type's match makes the number valid, so the order changes no verdict.
    types: [types[1], types[0], ...types.slice(2)].flatMap((entry) =>
      Array.isArray(entry) && typeof entry[0] === "string" ? [{ pattern: anchored(entry[0]), lengths: lengthsOf(entry[1]) }] : [],
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

/** A national significant number (no trunk prefix, no country code) valid in `region`. */
export function isValidNationalNumber(nationalNumber: string, region: string): boolean {
  const rules = regionRules(region);
  if (rules === null || !rules.lengths.has(nationalNumber.length) || !rules.general.test(nationalNumber)) return false;
  for (const type of rules.types) {
    if ((type.lengths === null || type.lengths.has(nationalNumber.length)) && type.pattern.test(nationalNumber)) return true;
  }
  return false;
}

/** Regions by calling code as a number (calling codes have no leading zero), so a look-up needs no slice. */
const REGIONS_BY_CODE: (readonly string[] | undefined)[] = [];
for (const [code, regions] of Object.entries(callingCodes)) if (!code.startsWith("0")) REGIONS_BY_CODE[Number(code)] = regions;

/** Digits after "+" or "00": a calling code of one to three digits, then a number valid in one of its regions. */
export function isValidInternationalNumber(digits: string): boolean {
  if (digits.charCodeAt(0) === 48) return false;
  let code = 0;
  for (let codeLength = 1; codeLength <= 3 && codeLength < digits.length; codeLength += 1) {
    code = code * 10 + digits.charCodeAt(codeLength - 1) - 48;
    const regions = REGIONS_BY_CODE[code];
    if (regions === undefined) continue;
    const national = digits.slice(codeLength);
    for (const region of regions) {
      if (isValidNationalNumber(national, region)) return true;
      // "+49 (0)30 901820": the trunk prefix written in brackets after the country code.
      const prefix = regionRules(region)?.nationalPrefix;
      if (prefix != null && national.startsWith(prefix) && isValidNationalNumber(national.slice(prefix.length), region)) return true;
    }
    return false;
  }
  return false;
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
