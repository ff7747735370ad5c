import { type CompletionUsage } from "../../src/core/upstream/CompletionProvider.js";
import { type ResponseStreamEvent } from "../../src/core/upstream/ResponsesProvider.js";

const inputItems = (input: unknown): unknown[] => (Array.isArray(input) && !input.every((item) => typeof item === "number") ? input : [input]);

/** OpenAI's embeddings body: a 4-dimension vector per input item (float, or base64 float32 when asked). */
export function fakeEmbeddingsBody(body: Readonly<Record<string, unknown>>, model: string, usage: CompletionUsage | null): Record<string, unknown> & { data: unknown[] } {
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 4;
  const data = inputItems(body.input).map((_, index) => {
    const vector = Float32Array.from({ length: dimensions }, (__, at) => (index + 1) / (at + 2));
    const embedding = body.encoding_format === "base64" ? Buffer.from(vector.buffer).toString("base64") : Array.from(vector);
    return { object: "embedding", index, embedding };
  });
  return { object: "list", data, model, ...(usage ? { usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens } } : {}) };
}

const usageBody = (usage: CompletionUsage | null) =>
  usage
    ? {
        input_tokens: usage.promptTokens,
        input_tokens_details: { cached_tokens: usage.cachedPromptTokens },
        output_tokens: usage.completionTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.promptTokens + usage.completionTokens,
      }
    : null;

/** A completed Response with one assistant message holding `text`. */
export function fakeResponseBody(id: string, model: string, text: string, usage: CompletionUsage | null): Record<string, unknown> & { output: unknown[] } {
  return {
    id,
    object: "response",
    created_at: 1_767_225_600,
    status: "completed",
    model,
    output: [{ type: "message", id: `msg_${id}`, status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] }],
    usage: usageBody(usage),
  };
}

/** A compacted conversation: one user message holding `text`, then one compaction item (its ciphertext base64). */
export function fakeCompactionBody(id: string, text: string, usage: CompletionUsage | null): Record<string, unknown> & { output: unknown[] } {
  const compaction = { id: `cmp_${id}`, type: "compaction", encrypted_content: Buffer.from(`gAAAAA${id}`.repeat(4)).toString("base64") };
  return {
    id,
    object: "response.compaction",
    created_at: 1_767_225_600,
    output: [{ type: "message", id: `msg_${id}`, status: "completed", role: "user", content: [{ type: "input_text", text }] }, compaction],
    usage: usageBody(usage),
  };
}

/** The typed events of a streamed Response; `piece` numbers the text deltas (dropped before they are yielded). */
export function* fakeResponseEvents(id: string, model: string, pieces: readonly string[], usage: CompletionUsage | null): Generator<ResponseStreamEvent & { piece?: number }> {
  let sequence = 0;
  const itemId = `msg_${id}`;
  const inProgress = { id, object: "response", created_at: 1_767_225_600, status: "in_progress", model, output: [], usage: null };
  yield { type: "response.created", sequence_number: sequence++, response: inProgress };
  yield { type: "response.output_item.added", sequence_number: sequence++, output_index: 0, item: { type: "message", id: itemId, status: "in_progress", role: "assistant", content: [] } };
  for (const [index, delta] of pieces.entries()) yield { type: "response.output_text.delta", sequence_number: sequence++, item_id: itemId, output_index: 0, content_index: 0, delta, piece: index };
  yield { type: "response.output_text.done", sequence_number: sequence++, item_id: itemId, output_index: 0, content_index: 0, text: pieces.join("") };
  yield { type: "response.completed", sequence_number: sequence++, response: fakeResponseBody(id, model, pieces.join(""), usage) };
}
