import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import examples from "libphonenumber-js/examples.mobile.json";
import { describe, expect, it } from "vitest";
import { isValidInternationalNumber, isValidNationalForm } from "../../../src/core/dlp/phone/phoneNumberValidity.js";
import { DEFAULT_PHONE_REGIONS, EU_REGIONS, phoneRegionsSchema } from "../../../src/core/policy/phoneRegions.js";

describe("phoneNumberValidity: libphonenumber's verdicts with patterns compiled once", () => {
  it("agrees with libphonenumber-js isValid() on every region's example number and one-digit variations of it", () => {
    let compared = 0;
    // Four rounds: a region is validated by its expressions first and by its automaton once validated often (HOT_AFTER).
    for (let round = 0; round < 4; round += 1) {
      for (const [region, example] of Object.entries(examples as Record<string, string>)) {
        for (let k = 0; k < 10; k += 1) {
          const digits = k === 0 ? example : example.slice(0, -1 - (k % 3)) + String((Number(example.at(-1 - (k % 3))) + k) % 10) + example.slice(example.length - (k % 3));
          const parsed = parsePhoneNumberFromString(digits, region as CountryCode);
          if (parsed === undefined) continue;
          expect(isValidInternationalNumber(`${parsed.countryCallingCode}${parsed.nationalNumber}`), `${region} ${digits} (round ${round})`).toBe(parsed.isValid());
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(6000);
  });
  it("reads national forms with the trunk prefix where the region has one", () => {
    expect(isValidNationalForm("030901820", "DE")).toBe(true);
    expect(isValidNationalForm("30901820", "DE")).toBe(false);
    expect(isValidNationalForm("3123456789", "IT")).toBe(true);
    expect(isValidNationalForm("0612345678", "NL")).toBe(true);
    expect(isValidInternationalNumber("49030901820")).toBe(true); // "+49 (0)30 901820"
  });
});

describe("policy phone regions", () => {
  it("defaults to every EU country plus IS, LI, NO, CH, GB and US, and expands EU and EEA", () => {
    expect(phoneRegionsSchema.parse(undefined)).toEqual([...DEFAULT_PHONE_REGIONS]);
    for (const region of EU_REGIONS) expect(DEFAULT_PHONE_REGIONS).toContain(region);
    expect(phoneRegionsSchema.parse(["EU", "DE", "US"])).toEqual([...EU_REGIONS, "US"]);
    expect(phoneRegionsSchema.parse(["EEA"])).toContain("NO");
    expect(() => phoneRegionsSchema.parse(["Germany"])).toThrow();
  });
});
