import fc from "fast-check";
import { composeIBAN, countrySpecs, isValidIBAN } from "ibantools";
import { describe, expect, it } from "vitest";
import { isValidIban } from "../../../src/core/dlp/detectors/isValidIban.js";

const countries = Object.keys(countrySpecs).filter((c) => (countrySpecs[c]?.chars ?? 0) > 0);

describe("isValidIban", () => {
  it("agrees with ibantools' isValidIBAN on IBANs of every country and one-character changes of them (property)", () => {
    const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    fc.assert(
      fc.property(
        fc.constantFrom(...countries),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 40, maxLength: 40 }),
        fc.nat(),
        fc.integer({ min: 0, max: alphabet.length - 1 }),
        (country, digits, where, replacement) => {
          const length = (countrySpecs[country]?.chars ?? 0) - 4;
          const iban = composeIBAN({ countryCode: country, bban: digits.slice(0, length).join("") }) ?? `${country}00${digits.slice(0, length).join("")}`;
          const at = where % iban.length;
          const changed = iban.slice(0, at) + alphabet.charAt(replacement) + iban.slice(at + 1);
          for (const candidate of [iban, changed, iban.slice(0, -1), `${iban}0`]) expect(isValidIban(candidate), candidate).toBe(isValidIBAN(candidate));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("accepts the IBANs of the standard's examples and refuses a wrong check digit", () => {
    for (const iban of ["DE89370400440532013000", "GB29NWBK60161331926819", "FR1420041010050500013M02606", "NL91ABNA0417164300", "BE68539007547034"]) {
      expect(isValidIban(iban), iban).toBe(true);
      expect(isValidIban(iban.replace(/^(..)(\d)/, (_m, c: string, d: string) => `${c}${(Number(d) + 1) % 10}`)), iban).toBe(false);
    }
  });
});
