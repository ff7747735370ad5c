import { describe, expect, it } from "vitest";
import { projectPeriodKey, rollupKey, withOperationFields } from "../../../src/core/limits/counterKeys.js";
import { periodKeysFor } from "../../../src/core/limits/periodKeysFor.js";
import { windowsAt } from "../../../src/core/limits/windows.js";

describe("periodKeysFor", () => {
  it("gives the keys rollupKey builds, and new ones when the day or month changes", () => {
    for (const at of [Date.UTC(2026, 11, 6, 23, 59), Date.UTC(2026, 11, 7, 0, 1), Date.UTC(2027, 0, 1, 0, 1), Date.UTC(2026, 11, 6, 12)]) {
      const windows = windowsAt(at);
      for (const period of ["day", "month"] as const) {
        const keys = periodKeysFor(period, windows);
        expect(keys.project).toBe(projectPeriodKey(period, windows));
        for (const [dimension, value] of [["key", "k1"], ["model", "gpt-4o"], ["tag", "team=a|b/c"], ["key", "k1"]] as const) {
          expect(keys.rollup(dimension, value)).toBe(rollupKey(period, windows, dimension, value));
        }
      }
    }
  });
});

describe("withOperationFields", () => {
  it("adds exactly the operation fields of the measures given, whatever shape came before", () => {
    expect(withOperationFields("chat", { usd: 5, requests: 1, unpricedRequests: 1 })).toEqual({ usd: 5, requests: 1, unpricedRequests: 1, op_chat_usd: 5, op_chat_requests: 1, op_chat_unpricedRequests: 1 });
    // Fewer fields than the shape remembered from the call above: none of its fields may linger.
    expect(withOperationFields("chat", { usd: 7, requests: 1 })).toEqual({ usd: 7, requests: 1, op_chat_usd: 7, op_chat_requests: 1 });
    expect(withOperationFields("chat", { usd: 2, inputTokens: 3 })).toEqual({ usd: 2, inputTokens: 3, op_chat_usd: 2, op_chat_inputTokens: 3 });
    expect(withOperationFields("chat", { usd: 2, inputTokens: 4 })).toEqual({ usd: 2, inputTokens: 4, op_chat_usd: 2, op_chat_inputTokens: 4 });
    expect(withOperationFields("embeddings", { usd: 1 })).toEqual({ usd: 1, op_embeddings_usd: 1 });
  });
});
