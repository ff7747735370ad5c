import { describe, expect, it } from "vitest";
import { type EndpointPolicy } from "../../src/core/policy/schema.js";
import { type CompletionCallOptions, type CompletionChunk, isUpstreamError } from "../../src/core/upstream/CompletionProvider.js";
import { type ResponseStreamEvent } from "../../src/core/upstream/ResponsesProvider.js";
import { type UpstreamProvider } from "../../src/core/upstream/UpstreamProvider.js";

export interface UpstreamProviderHarness {
  readonly provider: UpstreamProvider;
  readonly endpoint: EndpointPolicy;
  /** A prompt (or input) that makes the next answer's text exactly `text`. */
  promptSaying(text: string): string;
  /** The next call fails with 429 and `retry-after: seconds`. */
  failNextWithRateLimit(seconds: number): void;
  /** The next call fails with this 5xx. */
  failNextWithServerError(status: number): void;
}

const options = (): CompletionCallOptions => ({ deployment: "contract-deployment", timeoutInMs: 5_000, requestId: "req-contract-1" });

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (caught: unknown) => caught,
  );
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The provider port, per operation: what the gateway relies on from any upstream (the fake, or OpenAiCompletionProvider on the mock). */
export function describeUpstreamProviderContract(label: string, factory: () => Promise<UpstreamProviderHarness>): void {
  describe(`UpstreamProvider contract: ${label}`, () => {
    describe("chat", () => {
      it("answers a completion with its text and usage", async () => {
        const h = await factory();
        const completion = await h.provider.complete(h.endpoint, { messages: [{ role: "user", content: h.promptSaying("plain chat answer") }] }, options());
        expect(completion.body.choices[0]?.message?.content).toBe("plain chat answer");
        expect(completion.usage?.promptTokens).toBeGreaterThan(0);
        expect(completion.usage?.completionTokens).toBeGreaterThan(0);
      });

      it("streams chunks whose content adds up to the answer, and reports usage in the stream", async () => {
        const h = await factory();
        const chunks: CompletionChunk[] = await collect(await h.provider.stream(h.endpoint, { messages: [{ role: "user", content: h.promptSaying("streamed chat answer") }] }, options()));
        expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("")).toBe("streamed chat answer");
        expect(chunks.some((chunk) => (chunk.usage?.completion_tokens ?? 0) > 0)).toBe(true);
      });

      it("maps a 429 to rate_limited with the retry-after, and a 5xx to server_error", async () => {
        const h = await factory();
        h.failNextWithRateLimit(2);
        const limited = await errorOf(h.provider.complete(h.endpoint, { messages: [{ role: "user", content: "x" }] }, options()));
        expect(isUpstreamError(limited) && { kind: limited.kind, status: limited.status, retryAfterInMs: limited.retryAfterInMs }).toEqual({ kind: "rate_limited", status: 429, retryAfterInMs: 2000 });
        h.failNextWithServerError(503);
        const failed = await errorOf(h.provider.stream(h.endpoint, { messages: [{ role: "user", content: "x" }] }, options()));
        expect(isUpstreamError(failed) && failed.kind).toBe("server_error");
      });
    });

    describe("embeddings", () => {
      it("answers one float vector per input string, with the requested dimensions and input-only usage", async () => {
        const h = await factory();
        const result = await h.provider.createEmbeddings(h.endpoint, { input: ["first text", "second text"], dimensions: 4, encoding_format: "float" }, options());
        expect(result.body.data).toHaveLength(2);
        for (const item of result.body.data as { embedding: unknown; index: number }[]) {
          expect(Array.isArray(item.embedding) && item.embedding.length).toBe(4);
        }
        expect(result.usage?.promptTokens).toBeGreaterThan(0);
        expect(result.usage?.completionTokens).toBe(0);
      });

      it("returns base64 vectors untouched when asked for base64 (float32, little-endian)", async () => {
        const h = await factory();
        const result = await h.provider.createEmbeddings(h.endpoint, { input: "text", dimensions: 4, encoding_format: "base64" }, options());
        const embedding = (result.body.data[0] as { embedding: unknown }).embedding;
        expect(typeof embedding).toBe("string");
        expect(Buffer.from(embedding as string, "base64").byteLength).toBe(16);
      });

      it("sends float vectors when the body names no encoding (the API's default), and accepts token arrays", async () => {
        const h = await factory();
        const result = await h.provider.createEmbeddings(h.endpoint, { input: [[1, 2, 3], [4, 5]], dimensions: 4 }, options());
        expect(result.body.data).toHaveLength(2);
        expect(Array.isArray((result.body.data[0] as { embedding: unknown }).embedding)).toBe(true);
      });

      it("maps a 429 to rate_limited", async () => {
        const h = await factory();
        h.failNextWithRateLimit(1);
        const error = await errorOf(h.provider.createEmbeddings(h.endpoint, { input: "x" }, options()));
        expect(isUpstreamError(error) && error.kind).toBe("rate_limited");
      });
    });

    describe("responses", () => {
      it("answers a Response whose output text is the answer, with usage", async () => {
        const h = await factory();
        const result = await h.provider.createResponse(h.endpoint, { input: h.promptSaying("plain response answer") }, options());
        const message = (result.body.output ?? []).find((item): item is { type: string; content: { type: string; text: string }[] } => (item as { type?: unknown }).type === "message");
        expect(message?.content.map((part) => part.text).join("")).toBe("plain response answer");
        expect(result.usage?.promptTokens).toBeGreaterThan(0);
        expect(result.usage?.completionTokens).toBeGreaterThan(0);
      });

      it("streams typed events from response.created to response.completed, with text deltas and usage", async () => {
        const h = await factory();
        const events: ResponseStreamEvent[] = await collect(await h.provider.streamResponse(h.endpoint, { input: h.promptSaying("streamed response answer") }, options()));
        expect(events[0]?.type).toBe("response.created");
        expect(events.at(-1)?.type).toBe("response.completed");
        const text = events.filter((event) => event.type === "response.output_text.delta").map((event) => String(event.delta)).join("");
        expect(text).toBe("streamed response answer");
        const completed = events.at(-1) as { response?: { usage?: { output_tokens?: number } } } | undefined;
        expect(completed?.response?.usage?.output_tokens).toBeGreaterThan(0);
      });

      it("maps a 429 to rate_limited and a 5xx to server_error", async () => {
        const h = await factory();
        h.failNextWithRateLimit(3);
        const limited = await errorOf(h.provider.createResponse(h.endpoint, { input: "x" }, options()));
        expect(isUpstreamError(limited) && { kind: limited.kind, retryAfterInMs: limited.retryAfterInMs }).toEqual({ kind: "rate_limited", retryAfterInMs: 3000 });
        h.failNextWithServerError(500);
        const failed = await errorOf(h.provider.streamResponse(h.endpoint, { input: "x" }, options()));
        expect(isUpstreamError(failed) && failed.kind).toBe("server_error");
      });

      it("compacts a conversation: the user's messages, then one compaction item whose content is opaque; with usage", async () => {
        const h = await factory();
        const result = await h.provider.compactResponse(h.endpoint, { input: [{ role: "user", content: h.promptSaying("what was said") }] }, options());
        expect(result.body.object).toBe("response.compaction");
        const output = (result.body.output ?? []) as { type?: unknown; role?: unknown; encrypted_content?: unknown }[];
        expect(output.at(-1)?.type).toBe("compaction");
        expect(typeof output.at(-1)?.encrypted_content).toBe("string");
        expect(output.slice(0, -1).every((item) => item.type === "message" && item.role === "user")).toBe(true);
        expect(JSON.stringify(output.slice(0, -1))).toContain("what was said");
        expect(result.usage?.promptTokens).toBeGreaterThan(0);
      });

      it("counts input tokens: response.input_tokens with a positive count, no usage; a 429 is rate_limited", async () => {
        const h = await factory();
        const result = await h.provider.countInputTokens(h.endpoint, { input: "count these words" }, options());
        expect(result.body).toEqual({ object: "response.input_tokens", input_tokens: expect.any(Number) as number });
        expect(result.body.input_tokens).toBeGreaterThan(0);
        expect(result.usage).toBeNull();
        h.failNextWithRateLimit(2);
        const limited = await errorOf(h.provider.countInputTokens(h.endpoint, { input: "x" }, options()));
        expect(isUpstreamError(limited) && limited.kind).toBe("rate_limited");
      });
    });
  });
}
