import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redact, scan } from "../../../src/core/dlp/index.js";
import { loadDlpCorpus } from "../../../bench/dlp.js";

// Combining marks too (an accent, a strike-through overlay, an enclosing circle): stacked on a digit they hid it.
const INVISIBLE = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD", "\u200E", "\uFE0F", "\u0301", "\u0336", "\u20DD"];

// Plain-ASCII positives, so the inserted characters are the only obfuscation.
const positives = loadDlpCorpus()
  .filter((c) => c.entities.length === 1 && /^[\x20-\x7E\n]*$/.test(c.text))
  .map((c) => ({ text: c.text, entity: c.entities[0]! }));

describe("evasion with invisible characters", () => {
  it("finds a value however invisible characters are sprinkled inside it, and maps it back to the original span", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: positives.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...INVISIBLE)), { minLength: 1, maxLength: 6 }),
        (index, insertions) => {
          const { text, entity } = positives[index]!;
          const start = text.indexOf(entity.value);
          let value = entity.value;
          for (const [position, char] of insertions) {
            const at = 1 + (position % (value.length - 1));
            value = value.slice(0, at) + char + value.slice(at);
          }
          const mutated = text.slice(0, start) + value + text.slice(start + entity.value.length);
          const finding = scan(mutated).find((f) => f.type === entity.type);
          expect(finding).toEqual(expect.objectContaining({ start, end: start + value.length }));
          expect(redact(mutated, scan(mutated)).text).not.toContain(value);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("finds values written with full-width characters at the original offsets", () => {
    const toFullWidth = (s: string): string => s.replace(/[0-9A-Za-z@.]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    for (const { text, entity } of positives.filter((p) => p.entity.type !== "API_KEY")) {
      const start = text.indexOf(entity.value);
      const wide = toFullWidth(entity.value);
      const mutated = text.slice(0, start) + wide + text.slice(start + entity.value.length);
      expect(scan(mutated).find((f) => f.type === entity.type), mutated).toEqual(expect.objectContaining({ start, end: start + wide.length }));
    }
  });
});
