import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codeUnitsOf, releaseCodeUnits } from "../../../src/core/dlp/codeUnits.js";

const unitsByCharCodeAt = (text: string): number[] => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));

describe("codeUnitsOf", () => {
  it("holds text.charCodeAt(i) at every i below the length, for texts one after another of any length and script (property)", () => {
    // Short texts are copied in JavaScript, longer ones natively; one-byte and two-byte strings, lone surrogates.
    const unit = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x100, max: 0xffff }));
    const text = fc.array(unit, { maxLength: 300 }).map((codes) => String.fromCharCode(...codes));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, fc.boolean()), { minLength: 1, maxLength: 6 }), (texts) => {
        for (const [t, release] of texts) {
          expect(Array.from(codeUnitsOf(t).subarray(0, t.length))).toEqual(unitsByCharCodeAt(t));
          // Asked again (as every detector of a scan asks): the same units.
          expect(Array.from(codeUnitsOf(t).subarray(0, t.length))).toEqual(unitsByCharCodeAt(t));
          if (release) releaseCodeUnits();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives a new text of the same length its own units (not the last text's)", () => {
    const a = `${"a".repeat(100)}x`;
    const b = `${"b".repeat(100)}y`;
    expect(codeUnitsOf(a)[0]).toBe(97);
    expect(codeUnitsOf(b)[0]).toBe(98);
    expect(codeUnitsOf(b)[100]).toBe(121);
  });

  it("keeps a text past 1 M units in an array of its own until released, then serves small texts again", () => {
    const huge = `${"€".repeat((1 << 20) + 5)}z`;
    const units = codeUnitsOf(huge);
    expect(units.length).toBe(huge.length);
    expect(units[huge.length - 1]).toBe(122);
    // Asked again for the same text: the same array, not a second copy.
    expect(codeUnitsOf(huge)).toBe(units);
    releaseCodeUnits();
    const small = "tel 030 901820";
    expect(Array.from(codeUnitsOf(small).subarray(0, small.length))).toEqual(unitsByCharCodeAt(small));
    expect(codeUnitsOf(small).length).toBeLessThan(huge.length);
  });

  it("wipes the last text's code units when released, so no prompt stays in memory between scans", () => {
    const secret = "password: Hunter2!Hunter2!Hunter2!Hunter2!Hunter2!Hunter2!Hunter2!";
    const units = codeUnitsOf(secret);
    releaseCodeUnits();
    expect(Array.from(units.subarray(0, secret.length)).every((unit) => unit === 0)).toBe(true);
  });
});
