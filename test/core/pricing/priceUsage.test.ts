import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findPrice, priceUsage, priceUsageMicros } from "../../../src/core/pricing/priceUsage.js";

const gpt4o = { inputPer1M: 2.5, cachedInputPer1M: 1.25, outputPer1M: 10 };

describe("priceUsage", () => {
  it("prices input, cached input and output per million tokens", () => {
    // 1M uncached in = $2.50, 1M cached = $1.25, 0.5M out = $5.
    expect(priceUsage(gpt4o, { inputTokens: 2_000_000, cachedInputTokens: 1_000_000, outputTokens: 500_000 })).toBe(8.75);
    expect(priceUsageMicros(gpt4o, { inputTokens: 1000, outputTokens: 100 })).toBe(3500);
  });

  it("prices cached tokens at the input price when the policy gives no cached price", () => {
    const mini = { inputPer1M: 0.15, outputPer1M: 0.6 };
    expect(priceUsageMicros(mini, { inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 0 })).toBe(150_000);
  });

  it("rounds up once, to the micro-dollar, and never drifts when many requests are summed", () => {
    const mini = { inputPer1M: 0.075, outputPer1M: 0.3 };
    // 7 tokens x 0.075 = 0.525 micro-dollars -> 1.
    expect(priceUsageMicros(mini, { inputTokens: 7, outputTokens: 0 })).toBe(1);
    const one = priceUsageMicros(gpt4o, { inputTokens: 1234, cachedInputTokens: 200, outputTokens: 321 });
    let total = 0;
    for (let index = 0; index < 10_000; index++) total += one;
    expect(total).toBe(one * 10_000);
    expect(Number.isInteger(total)).toBe(true);
  });

  it("is monotonic and never negative (property)", () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(10_000_000), fc.nat(1000), (input, output, extra) => {
        const base = priceUsageMicros(gpt4o, { inputTokens: input, outputTokens: output });
        expect(base).toBeGreaterThanOrEqual(0);
        expect(priceUsageMicros(gpt4o, { inputTokens: input + extra, outputTokens: output })).toBeGreaterThanOrEqual(base);
        // Exact integer arithmetic: matches the rational result rounded up.
        expect(base).toBe(Math.ceil((input * 2_500_000 + output * 10_000_000) / 1_000_000));
      }),
    );
  });

  it("finds a price by deployment first, then by model name, else null", () => {
    const pricing = { "gpt4o-eu": gpt4o, "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } };
    expect(findPrice(pricing, "gpt4o-eu", "gpt-4o-mini")).toBe(gpt4o);
    expect(findPrice(pricing, "mini-deployment", "gpt-4o-mini")?.inputPer1M).toBe(0.15);
    expect(findPrice(pricing, "mystery", "mystery")).toBeNull();
    expect(findPrice(pricing, "toString", "constructor")).toBeNull();
  });
});
