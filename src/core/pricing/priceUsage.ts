import { type ModelPrice, type Policy } from "../policy/schema.js";

/** Token counts as the upstream reports them; `inputTokens` includes the cached ones (OpenAI's prompt_tokens). */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly cachedInputTokens?: number;
  readonly outputTokens: number;
}

const MICROS_PER_USD = 1_000_000n;

/** A price per 1M tokens as an exact integer number of micro-dollars (2.5 -> 2 500 000). */
function microsPer1M(usdPer1M: number): bigint {
  return BigInt(Math.round(usdPer1M * 1_000_000));
}

function whole(tokens: number): bigint {
  return BigInt(Math.max(0, Math.trunc(tokens)));
}

/**
 * Cost in integer micro-dollars, rounded UP once at the end: every product is exact in bigint
 * (tokens x micro-dollars per 1M), so sums of many requests never drift the way floats do.
 * Cached input tokens cost `cachedInputPer1M` (the input price when the policy gives none).
 */
export function priceUsageMicros(price: ModelPrice, usage: TokenUsage): number {
  const cached = whole(Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens));
  const uncached = whole(usage.inputTokens) - cached;
  const cachedPrice = microsPer1M(price.cachedInputPer1M ?? price.inputPer1M);
  const picoTimes = uncached * microsPer1M(price.inputPer1M) + cached * cachedPrice + whole(usage.outputTokens) * microsPer1M(price.outputPer1M);
  // picoTimes is micro-dollars x 1M tokens / 1M: divide by 1M, rounding up.
  return Number((picoTimes + MICROS_PER_USD - 1n) / MICROS_PER_USD);
}

/** Cost in USD (computed in integer micro-dollars). */
export function priceUsage(price: ModelPrice, usage: TokenUsage): number {
  return priceUsageMicros(price, usage) / 1_000_000;
}

/** The price for a call: by deployment first, then by the caller's model name; null when unpriced. */
export function findPrice(pricing: Policy["pricing"], deployment: string, model: string): ModelPrice | null {
  return (Object.hasOwn(pricing, deployment) ? pricing[deployment] : undefined) ?? (Object.hasOwn(pricing, model) ? pricing[model] : undefined) ?? null;
}

export const microsToUsd = (micros: number): number => micros / 1_000_000;
export const usdToMicros = (usd: number): number => Math.round(usd * 1_000_000);
