import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codeUnitsOf } from "../../../src/core/dlp/codeUnits.js";
import { lastRunFrom, nextRun, runStart } from "../../../src/core/dlp/detectors/numericRuns.js";

const RUN = /(?<!\d)\d(?:[ .\-/()\r\n]{0,3}\d){6,}/g;

describe("runStart", () => {
  it("finds where each digit run starts, as the run expression's match index (property)", () => {
    const alphabet = fc.constantFrom(..."0123456789", " ", ".", "-", "/", "(", ")", "\n", "\r", "a", "+", ",", ":");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }).map((chars) => chars.join("")), (text) => {
        RUN.lastIndex = 0;
        for (let m = RUN.exec(text); m !== null; m = RUN.exec(text)) expect(runStart(text, m.index + m[0].length)).toBe(m.index);
      }),
      { numRuns: 5000 },
    );
  });
  it("stops at four separators or a letter", () => {
    expect(runStart("12    3456789", 13)).toBe(6);
    expect(runStart("12 - 3456789", 12)).toBe(0);
    expect(runStart("x1234567", 8)).toBe(1);
  });
});

describe("nextRun", () => {
  it("finds the same runs as the run expression, from any search start (property)", () => {
    const alphabet = fc.constantFrom(..."0123456789", " ", ".", "-", "/", "(", ")", "\n", "\r", "a", "+", ",", ":", "€");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 80, size: "max" }).map((chars) => chars.join("")), fc.nat(80), (text, from) => {
        const units = codeUnitsOf(text);
        const expected: number[][] = [];
        RUN.lastIndex = Math.min(from, text.length);
        for (let m = RUN.exec(text); m !== null; m = RUN.exec(text)) expected.push([m.index, m.index + m[0].length]);
        const found: number[][] = [];
        for (let end = nextRun(units, text.length, Math.min(from, text.length)); end !== -1; end = nextRun(units, text.length, end)) {
          found.push([lastRunFrom(), end]);
        }
        expect(found).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

