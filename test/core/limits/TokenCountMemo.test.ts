import { encode as encodeO200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { countTextTokens } from "../../../src/core/limits/estimatePromptTokens.js";
import { TokenCountMemo } from "../../../src/core/limits/TokenCountMemo.js";

const longText = (seed: string): string => `${seed} `.repeat(20);

/** A stand-in for the BPE that counts characters and records what it was asked to count. */
function recordingCounter(): { readonly calls: string[]; readonly count: (text: string) => number } {
  const calls: string[] = [];
  return {
    calls,
    count: (text) => {
      calls.push(text);
      return text.length;
    },
  };
}

describe("TokenCountMemo", () => {
  it("counts a repeated text once and answers the same count after", () => {
    const memo = new TokenCountMemo(8, 16);
    const { calls, count } = recordingCounter();
    const text = longText("the same system prompt");
    expect(memo.countOf("o200k_base", text, count)).toBe(text.length);
    expect(memo.countOf("o200k_base", text, count)).toBe(text.length);
    expect(calls).toHaveLength(1);
    // Another encoding is another count.
    memo.countOf("cl100k_base", text, count);
    expect(calls).toHaveLength(2);
  });

  it("counts short texts directly, without keeping them", () => {
    const memo = new TokenCountMemo(8, 16);
    const { calls, count } = recordingCounter();
    memo.countOf("o200k_base", "user", count);
    memo.countOf("o200k_base", "user", count);
    expect(calls).toEqual(["user", "user"]);
    expect(memo.size).toBe(0);
  });

  it("stays within its bound, dropping the least recently used text first", () => {
    const memo = new TokenCountMemo(2, 16);
    const { calls, count } = recordingCounter();
    const [a, b, c] = [longText("alpha"), longText("bravo"), longText("charlie")];
    memo.countOf("o200k_base", a, count);
    memo.countOf("o200k_base", b, count);
    memo.countOf("o200k_base", a, count); // a is now the most recent
    memo.countOf("o200k_base", c, count); // evicts b
    expect(memo.size).toBe(2);
    calls.length = 0;
    memo.countOf("o200k_base", a, count);
    memo.countOf("o200k_base", b, count);
    expect(calls).toEqual([b]);
  });

  it("keeps digests, never the texts", () => {
    const memo = new TokenCountMemo(8, 16);
    const secret = longText("my card number is 4111 1111 1111 1111");
    memo.countOf("o200k_base", secret, (text) => text.length);
    const kept = JSON.stringify([...(memo as unknown as { counts: Map<string, number> }).counts.keys()]);
    expect(kept).not.toContain("4111");
    expect(kept).not.toContain("card");
  });

  it("gives countTextTokens the BPE's own count, first time and repeated", () => {
    const prompt = "You are a concise assistant for an internal finance team. Answer in plain English, in two sentences at most.";
    const expected = encodeO200k(prompt).length;
    expect(countTextTokens("gpt-4o-mini", prompt)).toBe(expected);
    expect(countTextTokens("gpt-4o-mini", prompt)).toBe(expected);
  });
});
