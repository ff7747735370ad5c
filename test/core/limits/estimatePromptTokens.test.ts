import { encodeChat } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as encodeO200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { encodingForModel, estimatePromptTokens, NON_TEXT_PART_TOKENS } from "../../../src/core/limits/estimatePromptTokens.js";

describe("estimatePromptTokens", () => {
  it("picks the encoding by model family, o200k_base for unknown models", () => {
    expect(encodingForModel("gpt-4o-mini")).toBe("o200k_base");
    expect(encodingForModel("gpt-4.1")).toBe("o200k_base");
    expect(encodingForModel("o3-mini")).toBe("o200k_base");
    expect(encodingForModel("gpt-5")).toBe("o200k_base");
    expect(encodingForModel("gpt-4")).toBe("cl100k_base");
    expect(encodingForModel("gpt-4-turbo")).toBe("cl100k_base");
    expect(encodingForModel("gpt-35-turbo")).toBe("cl100k_base");
    expect(encodingForModel("my-fine-tune")).toBe("o200k_base");
  });

  it("counts a chat as OpenAI's cookbook does (matches gpt-tokenizer's chat encoding for gpt-4)", () => {
    const messages = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is the capital of France? Answer in one word." },
    ];
    expect(estimatePromptTokens("gpt-4", messages)).toBe(encodeChat(messages, "gpt-4").length);
  });

  it("adds per-message framing, names, text parts and a fixed cost per image", () => {
    const text = "Describe this picture, please.";
    const parts = [{ type: "text", text }, { type: "image_url" }];
    const expected = 3 + (3 + 1 + encodeO200k(text).length + NON_TEXT_PART_TOKENS + encodeO200k("alice").length + 1);
    expect(estimatePromptTokens("gpt-4o", [{ role: "user", content: parts, name: "alice" }])).toBe(expected);
    expect(estimatePromptTokens("gpt-4o", [{ role: "assistant", content: null }])).toBe(3 + 3 + 1);
  });

  it("counts special-token markers in caller text as plain text instead of throwing", () => {
    expect(estimatePromptTokens("gpt-4o", [{ role: "user", content: "<|endoftext|>" }])).toBeGreaterThan(7);
  });
});

describe("countTextTokens on long runs without whitespace", () => {
  it("counts a run longer than the tokenised limit as its UTF-8 length: an upper bound of the real count", async () => {
    const { countTextTokens, MAX_TOKENISED_RUN } = await import("../../../src/core/limits/estimatePromptTokens.js");
    const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base");
    const run = "QmFzZTY0IGVuY29kZWQgZGF0YQ".repeat(20);
    expect(run.length).toBeGreaterThan(MAX_TOKENISED_RUN);
    const estimate = countTextTokens("gpt-4o-mini", `intro ${run} outro`);
    expect(estimate).toBeGreaterThanOrEqual(countTokens(`intro ${run} outro`));
    expect(estimate).toBeLessThanOrEqual(run.length + 10);
  });

  it("does not tokenise a megabyte-long run (it would take minutes); the estimate is its byte length", async () => {
    const { countTextTokens } = await import("../../../src/core/limits/estimatePromptTokens.js");
    const huge = "a".repeat(1_000_000);
    expect(countTextTokens("gpt-4o-mini", huge)).toBe(1_000_000);
    expect(countTextTokens("gpt-4o-mini", `é${huge}`)).toBe(1_000_002);
  });

  it("tokenises ordinary text exactly as before", async () => {
    const { countTextTokens } = await import("../../../src/core/limits/estimatePromptTokens.js");
    const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base");
    const prose = "Summarise our refund policy for enterprise customers in three bullet points. ".repeat(10);
    expect(countTextTokens("gpt-4o-mini", prose)).toBe(countTokens(prose));
  });
});
