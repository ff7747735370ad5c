import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DETECTORS } from "../../../src/core/dlp/detectors.js";
import { KeywordIndex } from "../../../src/core/dlp/KeywordIndex.js";
import { normalizeForScan } from "../../../src/core/dlp/normalizeForScan.js";
import { SECRET_RULES } from "../../../src/core/dlp/secrets/secretRules.js";

function naive(lists: readonly (readonly string[])[], text: string): number[][] {
  return lists.map((keywords) => {
    const positions = new Set<number>();
    for (const keyword of keywords) for (let at = text.indexOf(keyword); at !== -1; at = text.indexOf(keyword, at + 1)) positions.add(at);
    return [...positions].sort((a, b) => a - b);
  });
}

describe("KeywordIndex", () => {
  it("finds exactly the positions a search for each keyword finds (property)", () => {
    // Few characters, so keywords overlap, share prefixes and stand at the very end of the text.
    const char = fc.constantFrom("a", "b", "c", "_", "-", "é", "€");
    const word = fc.array(char, { minLength: 2, maxLength: 4 }).map((c) => c.join(""));
    const asciiStart = word.filter((w) => w.charCodeAt(0) < 128 && w.charCodeAt(1) < 128);
    fc.assert(
      fc.property(fc.array(fc.array(asciiStart, { maxLength: 5 }), { minLength: 1, maxLength: 3 }), fc.array(char, { maxLength: 60 }), (lists, chars) => {
        const text = chars.join("");
        expect(new KeywordIndex(lists).find(text)).toEqual(naive(lists, text));
      }),
      { numRuns: 500 },
    );
  });

  it("finds exactly those positions in long texts too, at odd and even positions (property)", () => {
    // Past 64 characters the text is read through a native Latin-1 copy; units past U+00FF become some byte there.
    const char = fc.constantFrom("a", "b", "=", "K", "S", "é", "€", "\u0161", " ");
    const word = fc.array(char, { minLength: 2, maxLength: 4 }).map((c) => c.join(""));
    const asciiStart = word.filter((w) => w.charCodeAt(0) < 128 && w.charCodeAt(1) < 128);
    fc.assert(
      fc.property(fc.array(fc.array(asciiStart, { maxLength: 5 }), { minLength: 1, maxLength: 3 }), fc.array(char, { minLength: 60, maxLength: 300 }), (lists, chars) => {
        const text = chars.join("");
        expect(new KeywordIndex(lists).find(text)).toEqual(naive(lists, text));
      }),
      { numRuns: 300 },
    );
  });

  it("finds every secret rule's and every detector's keyword in the texts their samples must be found in", () => {
    // The scan runs a detector only where its keywords were found: a sample without one would never be reached.
    const index = new KeywordIndex(DETECTORS.map((d) => d.keywords ?? []));
    for (const [i, detector] of DETECTORS.entries()) {
      if (detector.keywords === undefined) continue;
      const texts = [...detector.samples.found.map((s) => s.text), ...(detector.id === "secret-rules" ? SECRET_RULES.flatMap((r) => r.samples.found.map((s) => s.text)) : [])];
      for (const text of texts) expect(index.find(normalizeForScan(text).text)[i]?.length ?? 0, `${detector.id}: ${text.slice(0, 60)}`).toBeGreaterThan(0);
    }
  });

  it("finds a rule's keyword where the rule's match says it stands", () => {
    for (const rule of SECRET_RULES) {
      const index = new KeywordIndex([rule.keywords]);
      for (const sample of rule.samples.found) {
        const at = sample.text.indexOf(sample.secret);
        expect(index.find(sample.text)[0]?.some((p) => p >= at - 200 && p <= at + sample.secret.length), rule.id).toBe(true);
      }
    }
  });

  it("refuses a keyword it cannot index", () => {
    expect(() => new KeywordIndex([["a"]])).toThrow(/two ASCII characters/);
    expect(() => new KeywordIndex([["éa"]])).toThrow(/two ASCII characters/);
  });
});
