import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { countTextTokens, loadTokenEncodingsFor } from "../../../src/core/limits/estimatePromptTokens.js";
import { loadedTokenEncodings } from "../../../src/core/limits/tokenEncodings.js";

const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
const TEXT = "Governed completions count their prompt tokens before the call, and settle after it.";

// One file, one module instance: the order of these tests is the order a process loads encodings in.
describe("token encodings load when first needed", () => {
  it("loads none at import", () => {
    expect(loadedTokenEncodings()).toEqual([]);
  });

  it("loads only the encodings the given models use, ahead of the first count", async () => {
    await loadTokenEncodingsFor(["gpt-4o-mini", "gpt-4.1", "my-fine-tune"]);
    expect(loadedTokenEncodings()).toEqual(["o200k_base"]);
    expect(countTextTokens("gpt-4o-mini", TEXT)).toBe(countO200k(TEXT, PLAIN));
  });

  it("counts exactly with an encoding nobody loaded ahead (loaded on the spot)", () => {
    expect(countTextTokens("gpt-4", TEXT)).toBe(countCl100k(TEXT, PLAIN));
    expect(loadedTokenEncodings().sort()).toEqual(["cl100k_base", "o200k_base"]);
  });
});
