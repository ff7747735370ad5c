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
