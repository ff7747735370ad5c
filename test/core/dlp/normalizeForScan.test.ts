import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeForScan, toOriginalRange } from "../../../src/core/dlp/normalizeForScan.js";

// ASCII, Latin-1 letters (kept), Latin-1 symbols and spaces (folded), other scripts, a euro sign, invisible
// characters (removed), full-width digits, an astral emoji and a ligature that NFKC expands to two letters.
const ALPHABET = ["a", "7", " ", "\n", "é", "ü", "\u00A0", "\u00AD", "«", "€", "ж", "用", "\u200B", "\uFEFF", "\uFF14", "\u2013", "😀", "\uFB01", "١"];

const pieces = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 40 });

describe("normalizeForScan", () => {
  it("gives the view of a text as the views of its code points one after the other, one byte per unit", () => {
    fc.assert(
      fc.property(pieces, (chars) => {
        const view = normalizeForScan(chars.join("")).text;
        expect(view).toBe(chars.map((c) => normalizeForScan(c).text).join(""));
        expect([...view].every((c) => c.charCodeAt(0) <= 0xff)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("maps the view of every code point back to that code point in the original", () => {
    fc.assert(
      fc.property(pieces, (chars) => {
        const normalized = normalizeForScan(chars.join(""));
        let original = 0;
        let view = 0;
        for (const char of chars) {
          const length = normalizeForScan(char).text.length;
          if (length > 0) expect(toOriginalRange(normalized, view, view + length)).toEqual([original, original + char.length]);
          original += char.length;
          view += length;
        }
      }),
      { numRuns: 400 },
    );
  });

  it("folds what evasions use: full-width and other-script digits, dashes, no-break spaces, invisible characters", () => {
    expect(normalizeForScan("\uFF14\uFF11 \u0661\u0662\u2013\u00A0x\u200By€").text).toBe("41 12- xy\u00B7");
  });

  it("normalises a long text whose first non-ASCII character comes early, late or never the same way (property)", () => {
    // Past the first 1 024 characters the ASCII test changes; the view must not.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), pieces, (asciiLength, chars) => {
        const ascii = "a7 ".repeat(1000).slice(0, asciiLength);
        for (const text of [ascii + chars.join(""), chars.join("") + ascii, ascii]) {
          const normalized = normalizeForScan(text);
          expect(normalized.text).toBe([...text].map((c) => normalizeForScan(c).text).join(""));
          if (text === ascii) expect(normalized).toEqual({ text, map: null });
        }
      }),
      { numRuns: 200 },
    );
  });
});

