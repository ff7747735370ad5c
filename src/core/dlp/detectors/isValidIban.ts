import { countrySpecs } from "ibantools";

/** Each country's BBAN format, compiled once (ibantools' isValidIBAN compiles it again on every call). */
const bbanFormats = new Map<string, RegExp | null>();

function bbanFormat(country: string): RegExp | null {
  let format = bbanFormats.get(country);
  if (format === undefined) {
    const source = countrySpecs[country]?.bban_regexp;
    format = typeof source === "string" ? new RegExp(source) : null;
    bbanFormats.set(country, format);
  }
  return format;
}

/** Remainder after appending one IBAN character (a letter counts as two digits, A = 10) to a number mod 97. */
function mod97Step(remainder: number, code: number): number {
  return code <= 57 ? (remainder * 10 + code - 48) % 97 : (remainder * 100 + code - 55) % 97;
}

/**
 * ibantools' isValidIBAN (length, check digits, BBAN format, the country's own BBAN check), with the
 * checksum computed from character codes and the formats compiled once: the cheap checksum first, so
 * the regular expression runs only on candidates whose check digits are right. `iban`: upper case, no spaces.
 */
export function isValidIban(iban: string): boolean {
  const country = iban.slice(0, 2);
  const spec = countrySpecs[country];
  if (spec?.chars !== iban.length || iban.length < 5) return false;
  const c2 = iban.charCodeAt(2) - 48;
  const c3 = iban.charCodeAt(3) - 48;
  if (c2 < 0 || c2 > 9 || c3 < 0 || c3 > 9) return false;
  for (let i = 4; i < iban.length; i += 1) {
    const code = iban.charCodeAt(i);
    if (!((code >= 48 && code <= 57) || (code >= 65 && code <= 90))) return false;
  }
  // BBAN, country code, "00"; the check digits are 98 minus that mod 97.
  let remainder = 0;
  for (let i = 4; i < iban.length; i += 1) remainder = mod97Step(remainder, iban.charCodeAt(i));
  remainder = mod97Step(mod97Step(remainder, iban.charCodeAt(0)), iban.charCodeAt(1));
  remainder = (remainder * 100) % 97;
  if (98 - remainder !== c2 * 10 + c3) return false;
  const bban = iban.slice(4);
  if (bbanFormat(country)?.test(bban) !== true) return false;
  return spec.bban_validation_func === undefined || spec.bban_validation_func(bban);
}
