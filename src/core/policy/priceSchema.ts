import { z } from "zod";

const nonNegative = z.number().nonnegative();

/** A chat (or Responses) model: USD per 1M input, cached input and output tokens. */
const tokenPriceSchema = z
  .object({
    inputPer1M: nonNegative,
    cachedInputPer1M: nonNegative.optional(),
    outputPer1M: nonNegative,
  })
  .strict();

/**
 * An embeddings model: USD per 1M input tokens (embeddings have no output tokens). Read as a token
 * price with no output cost, so limits and budgets price every operation alike.
 */
const embeddingsPriceSchema = z
  .object({ embeddingsPer1M: nonNegative })
  .strict()
  .transform(({ embeddingsPer1M }) => ({ inputPer1M: embeddingsPer1M, outputPer1M: 0, cachedInputPer1M: undefined as number | undefined }));

export const priceSchema = z.union([tokenPriceSchema, embeddingsPriceSchema]);
