import { z } from "zod";

/**
 * OpenAI's embeddings request, as much as Palisade governs. `input` is a string, an array of strings,
 * an array of tokens, or an array of token arrays; unknown fields pass through untouched.
 */
const tokens = z.array(z.number().int().nonnegative()).min(1, "a token array must not be empty");

export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1, "model must not be empty").max(256),
    input: z.union([
      z.string().min(1, "input must not be empty"),
      z.array(z.string().min(1, "input strings must not be empty")).min(1, "input must not be empty"),
      tokens,
      z.array(tokens).min(1, "input must not be empty"),
    ]),
    dimensions: z.number().int().positive().max(16_384).optional(),
    encoding_format: z.enum(["float", "base64"]).optional(),
    user: z.string().max(512).optional(),
  })
  .passthrough();

export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** The input's items: texts or token arrays. */
export function embeddingInputsOf(request: Pick<EmbeddingsRequest, "input">): readonly (string | readonly number[])[] {
  const { input } = request;
  if (typeof input === "string") return [input];
  if (input.every((item): item is number => typeof item === "number")) return [input];
  return input;
}

/** How many inputs are token arrays, which DLP cannot read. */
export const tokenInputCount = (request: Pick<EmbeddingsRequest, "input">): number => embeddingInputsOf(request).filter((item) => typeof item !== "string").length;
