import fc from "fast-check";
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it, vi } from "vitest";
import { MAX_TOKENISED_RUN, countTextTokens, estimatePromptTokens, upperBoundOfTextTokens } from "../../../src/core/limits/estimatePromptTokens.js";
import { countedExactly } from "../../../src/core/limits/tokenEncodings.js";

const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
const TEXT = "Governed completions count their prompt tokens before the call, and settle after it. Ünïcödé 😀 漢字";

/** A fresh instance of the counting modules (no encoding loaded or marked), as a cold process has. */
async function coldCounting() {
  vi.resetModules();
  const [counting, encodings] = await Promise.all([import("../../../src/core/limits/estimatePromptTokens.js"), import("../../../src/core/limits/tokenEncodings.js")]);
  return { ...counting, ...encodings };
}

/** Texts of every kind a caller sends: ASCII, any Unicode, lone surrogates, special-token markers, long runs. */
const texts = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.array(fc.constantFrom("<|endoftext|>", "<|im_start|>", " ", "\n", "a", "é", "😀", "\ud800", "  ", "123", "漢"), { maxLength: 120 }).map((parts) => parts.join("")),
  fc.tuple(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", minLength: MAX_TOKENISED_RUN + 1, maxLength: 600 }), fc.string({ maxLength: 40 })).map((parts) => parts.join(" ")),
);
const chats = fc.array(
  fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: texts, name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) }),
  { maxLength: 6 },
);

describe("token counts while the encoding loads", () => {
  it("are the UTF-8 upper bound, said to be one, and exact once the encoding is loaded", async () => {
    const cold = await coldCounting();
    cold.countWithUpperBoundUntilLoadedFor(["gpt-4o-mini"]);
    expect(cold.countedTokens(() => cold.countTextTokens("gpt-4o-mini", TEXT))).toEqual({ tokens: Buffer.byteLength(TEXT, "utf8"), upperBound: true });
    expect(cold.loadedTokenEncodings()).toEqual([]);

    await cold.loadTokenEncodingsFor(["gpt-4o-mini"]);
    expect(cold.countedTokens(() => cold.countTextTokens("gpt-4o-mini", TEXT))).toEqual({ tokens: countO200k(TEXT, PLAIN), upperBound: false });
  });

  it("are exact for an encoding nobody marked (loaded on the spot), and when asked for exactly", async () => {
    const cold = await coldCounting();
    cold.countWithUpperBoundUntilLoadedFor(["gpt-4o"]);
    expect(cold.countedTokens(() => cold.countTextTokens("gpt-4", TEXT))).toEqual({ tokens: countCl100k(TEXT, PLAIN), upperBound: false });
    expect(cold.countedTokens(() => cold.countedExactly(() => cold.countTextTokens("gpt-4o", TEXT)))).toEqual({ tokens: countO200k(TEXT, PLAIN), upperBound: false });
    expect(cold.loadedTokenEncodings().sort()).toEqual(["cl100k_base", "o200k_base"]);
  });
});

describe("the upper bound of tokens", () => {
  it("is never below the exact count of a text, in either encoding", () => {
    fc.assert(
      fc.property(texts, (text) => {
        const bound = upperBoundOfTextTokens(text);
        expect(bound).toBeGreaterThanOrEqual(countO200k(text, PLAIN));
        expect(bound).toBeGreaterThanOrEqual(countCl100k(text, PLAIN));
        // What the gateway counts exactly (a long run as its bytes) is below it too.
        expect(bound).toBeGreaterThanOrEqual(countedExactly(() => countTextTokens("gpt-4o", text)));
        expect(bound).toBeGreaterThanOrEqual(countedExactly(() => countTextTokens("gpt-4", text)));
      }),
      { numRuns: 300 },
    );
  });

  it("is never below the exact estimate of a whole chat, when the encoding is still loading", async () => {
    const cold = await coldCounting();
    cold.countWithUpperBoundUntilLoadedFor(["gpt-4o", "gpt-4"]);
    fc.assert(
      fc.property(chats, fc.constantFrom("gpt-4o", "gpt-4"), (chat, model) => {
        const bounded = cold.countedTokens(() => cold.estimatePromptTokens(model, chat));
        expect(bounded.upperBound).toBe(chat.length > 0);
        expect(bounded.tokens).toBeGreaterThanOrEqual(countedExactly(() => estimatePromptTokens(model, chat)));
      }),
      { numRuns: 300 },
    );
    expect(cold.loadedTokenEncodings()).toEqual([]);
  });
});
