import fc from "fast-check";
import examples from "libphonenumber-js/examples.mobile.json";
import metadata from "libphonenumber-js/metadata.max.json";
import { describe, expect, it } from "vitest";
import { DigitAutomaton, type TypeSource } from "../../../src/core/dlp/phone/DigitAutomaton.js";

// The reference: what the validator did before the automaton (and what libphonenumber's isValid() does):
// the region's lengths, its general pattern, then any type pattern with that type's lengths, as anchored expressions.
type Raw = readonly unknown[];
const countries = metadata.countries as unknown as Record<string, Raw>;
const lengthsOf = (value: unknown): number[] | null => (Array.isArray(value) ? value.filter((n): n is number => typeof n === "number") : null);

interface Region {
  readonly name: string;
  readonly general: string;
  readonly types: readonly TypeSource[];
  readonly lengths: readonly number[];
}

const regions: Region[] = Object.entries(countries).flatMap(([name, raw]) => {
  const general = raw[2];
  if (typeof general !== "string") return [];
  const types = (Array.isArray(raw[11]) ? (raw[11] as unknown[]) : []).flatMap((entry) =>
    Array.isArray(entry) && typeof entry[0] === "string" ? [{ pattern: entry[0], lengths: lengthsOf(entry[1]) }] : [],
  );
  return [{ name, general, types, lengths: lengthsOf(raw[3]) ?? [] }];
});

function referenceFor(region: Region): (digits: string) => boolean {
  const anchored = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);
  const general = anchored(region.general);
  const types = region.types.map((type) => ({ pattern: anchored(type.pattern), lengths: type.lengths === null ? null : new Set(type.lengths) }));
  const lengths = new Set(region.lengths);
  return (digits) => lengths.has(digits.length) && general.test(digits) && types.some((type) => (type.lengths === null || type.lengths.has(digits.length)) && type.pattern.test(digits));
}

function toBuffer(digits: string): Uint8Array {
  return Uint8Array.from(digits, (c) => c.charCodeAt(0) - 48);
}

/** The example number, and variants that keep its leading digits but change, cut or lengthen the rest. */
function variants(example: string): string[] {
  const out = [example];
  for (let k = 1; k <= example.length; k += 1) {
    out.push(example.slice(0, k), example.slice(0, k) + "0".repeat(Math.max(0, example.length - k)), `${example}${k % 10}`);
    out.push(example.slice(0, k - 1) + String((Number(example[k - 1]) + 3) % 10) + example.slice(k));
  }
  return out;
}

describe("DigitAutomaton: libphonenumber's patterns as an automaton over digits", () => {
  it("gives every region's example numbers and their variants the verdict of the anchored expressions", () => {
    let compared = 0;
    let valid = 0;
    for (const region of regions) {
      const automaton = new DigitAutomaton(region.general, region.types, region.lengths);
      const reference = referenceFor(region);
      const example = (examples as Record<string, string>)[region.name] ?? "";
      for (const digits of example === "" ? [] : variants(example)) {
        const expected = reference(digits);
        expect(automaton.accepts(toBuffer(digits), 0, digits.length), `${region.name} ${digits}`).toBe(expected);
        compared += 1;
        if (expected) valid += 1;
      }
    }
    expect(compared).toBeGreaterThan(8000);
    expect(valid).toBeGreaterThan(500);
  });

  it("agrees with them on random digit strings in every region, read from the middle of a buffer (property)", () => {
    const automata = regions.map((region) => ({ region, automaton: new DigitAutomaton(region.general, region.types, region.lengths), reference: referenceFor(region) }));
    fc.assert(
      fc.property(fc.nat(automata.length - 1), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 18 }), fc.nat(3), (index, values, pad) => {
        const { region, automaton, reference } = automata[index] as (typeof automata)[number];
        const digits = values.join("");
        const buffer = new Uint8Array(pad + values.length + 2).fill(7);
        buffer.set(values, pad);
        expect(automaton.accepts(buffer, pad, pad + values.length), `${region.name} ${digits}`).toBe(reference(digits));
      }),
      { numRuns: 20000 },
    );
  });

  it("keeps its verdicts when its table starts again past the state limit", () => {
    const region = regions.find((r) => r.name === "DE") as Region;
    const small = new DigitAutomaton(region.general, region.types, region.lengths, 16);
    const reference = referenceFor(region);
    let largest = 0;
    for (const digits of variants((examples as Record<string, string>).DE ?? "")) {
      expect(small.accepts(toBuffer(digits), 0, digits.length), digits).toBe(reference(digits));
      largest = Math.max(largest, small.size);
    }
    expect(largest).toBeLessThanOrEqual(16 + 18);
  });

  it("accepts a length only where the region and a matching type both allow it", () => {
    // Types whose patterns allow more lengths than their lists (libphonenumber's lengths have the last word).
    const automaton = new DigitAutomaton("[1-9]\\d{5,7}", [{ pattern: "1\\d{5,7}", lengths: [7] }, { pattern: "[2-9]\\d{5,7}", lengths: null }], [6, 7]);
    const verdict = (digits: string): boolean => automaton.accepts(toBuffer(digits), 0, digits.length);
    expect(["1234567", "234567", "2345678"].map(verdict)).toEqual([true, true, true]);
    expect(["123456", "12345678", "23456789", "0234567"].map(verdict)).toEqual([false, false, false, false]);
  });

  it("refuses syntax outside the subset the metadata uses", () => {
    expect(() => new DigitAutomaton("\\d+", [], [8])).toThrow(/unsupported syntax/);
    expect(() => new DigitAutomaton("[a-z]{3}", [], [3])).toThrow(/unsupported syntax/);
  });
});
