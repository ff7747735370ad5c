import { createHash } from "node:crypto";

/** What a mock embeddings call answers: an OpenAI-shaped body, or an OpenAI-shaped error. */
export type MockEmbeddingsOutcome =
  | { readonly kind: "ok"; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: "error"; readonly status: number; readonly message: string; readonly param: string };

/** text-embedding-3-small's size, so clients see what a real deployment answers. */
export const DEFAULT_EMBEDDING_DIMENSIONS = 1536;
const MAX_DIMENSIONS = 3072;

const isTokenArray = (value: unknown): value is readonly number[] => Array.isArray(value) && value.every((item) => Number.isInteger(item));

/** The input as a list of items (texts or token arrays), or null when it is not one of OpenAI's four shapes. */
export function embeddingItemsOf(input: unknown): readonly (string | readonly number[])[] | null {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  const list: readonly unknown[] = input;
  if (list.every((item) => typeof item === "string")) return list;
  if (list.every((item) => Number.isInteger(item))) return [list as readonly number[]];
  if (list.every((item) => isTokenArray(item) && item.length > 0)) return list as readonly (readonly number[])[];
  return null;
}

/** The texts an input carries (token arrays carry none a mock can read). */
export function embeddingTextsOf(input: unknown): string[] {
  return (embeddingItemsOf(input) ?? []).filter((item): item is string => typeof item === "string");
}

/**
 * A unit vector that depends only on the item: the same text (or token array) always gets the same
 * vector, different ones almost surely differ. A SHA-256 seeded xorshift stream, so no two runs disagree.
 */
export function deterministicVector(item: string | readonly number[], dimensions: number): Float32Array {
  const seed = createHash("sha256").update(typeof item === "string" ? `t:${item}` : `n:${item.join(",")}`).digest();
  let state = seed.readUInt32LE(0) || 0x9e3779b9;
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let index = 0; index < dimensions; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const value = state / 0xffffffff - 0.5;
    vector[index] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let index = 0; index < dimensions; index += 1) vector[index] = (vector[index] ?? 0) * scale;
  return vector;
}

const roughTokens = (item: string | readonly number[]): number => (typeof item === "string" ? Math.max(1, Math.ceil(item.length / 4)) : item.length);

/**
 * OpenAI's embeddings answer for a body: one vector per input item, `dimensions` honoured,
 * `encoding_format` float (the API's default) or base64 (little-endian float32, as the API sends it), usage.
 */
export function mockEmbeddings(body: Readonly<Record<string, unknown>>, model: string): MockEmbeddingsOutcome {
  const items = embeddingItemsOf(body.input);
  if (items === null) return { kind: "error", status: 400, message: "input must be a string, an array of strings, an array of tokens or an array of token arrays", param: "input" };
  const dimensions = body.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  if (typeof dimensions !== "number" || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    return { kind: "error", status: 400, message: `dimensions must be an integer from 1 to ${MAX_DIMENSIONS}`, param: "dimensions" };
  }
  const format = body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") return { kind: "error", status: 400, message: "encoding_format must be float or base64", param: "encoding_format" };
  const data = items.map((item, index) => {
    const vector = deterministicVector(item, dimensions);
    const embedding = format === "base64" ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64") : Array.from(vector);
    return { object: "embedding", index, embedding };
  });
  const promptTokens = items.reduce((sum, item) => sum + roughTokens(item), 0);
  return { kind: "ok", body: { object: "list", data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } } };
}
