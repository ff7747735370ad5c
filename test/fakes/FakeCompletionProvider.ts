import { type EndpointPolicy } from "../../src/core/policy/schema.js";
import {
  type Completion,
  type CompletionCallOptions,
  type CompletionChunk,
  type CompletionProvider,
  type CompletionUsage,
  UpstreamError,
  type UpstreamFailureKind,
} from "../../src/core/upstream/CompletionProvider.js";
import { type EmbeddingsResult } from "../../src/core/upstream/EmbeddingsProvider.js";
import { type ResponseResult, type ResponseStreamEvent, type StoredResponseCall } from "../../src/core/upstream/ResponsesProvider.js";
import { type UpstreamProvider } from "../../src/core/upstream/UpstreamProvider.js";
import { fakeCompactionBody, fakeEmbeddingsBody, fakeResponseBody, fakeResponseEvents } from "./fakeOperationBodies.js";

/** What one call does: answer (whole or streamed), or fail with an UpstreamError. */
export type FakeBehaviour =
  | { readonly kind: "answer"; readonly content: string; readonly usage?: CompletionUsage | null }
  | {
      readonly kind: "stream";
      /** Content deltas, sent one chunk each. */
      readonly pieces: readonly string[];
      readonly usage?: CompletionUsage | null;
      /** Throw a connection UpstreamError after this many content pieces (the stream breaks mid-way). */
      readonly breakAfter?: number;
    }
  | { readonly kind: "fail"; readonly error: UpstreamError };

export interface RecordedCall {
  readonly method: "complete" | "stream" | "createEmbeddings" | "createResponse" | "streamResponse" | "callStoredResponse" | "streamStoredResponse" | "compactResponse" | "countInputTokens";
  readonly endpointId: string;
  readonly region: string;
  readonly endpointClass: EndpointPolicy["class"];
  readonly body: Readonly<Record<string, unknown>>;
  readonly options: CompletionCallOptions;
}

export const DEFAULT_USAGE: CompletionUsage = { promptTokens: 12, cachedPromptTokens: 0, completionTokens: 8 };

/**
 * A CompletionProvider for unit tests. Records every call (endpoint, body as sent, options). What a call
 * does is taken, in order: from a per-endpoint rule (`onEndpoint`), else the next queued behaviour
 * (`next`), else the default answer. Streams are produced chunk by chunk in OpenAI's shape.
 */
export class FakeCompletionProvider implements CompletionProvider, UpstreamProvider {
  readonly calls: RecordedCall[] = [];
  /** Streams whose consumer stopped early or that were read to the end. */
  streamsClosed = 0;
  defaultContent = "Hello from the fake upstream.";
  defaultUsage: CompletionUsage | null = DEFAULT_USAGE;
  private readonly queue: FakeBehaviour[] = [];
  private readonly byEndpoint = new Map<string, FakeBehaviour>();

  /** Queues behaviours for the next calls (any endpoint without an `onEndpoint` rule). */
  next(...behaviours: FakeBehaviour[]): this {
    this.queue.push(...behaviours);
    return this;
  }

  /** Every call to this endpoint does `behaviour` until cleared with null. */
  onEndpoint(endpointId: string, behaviour: FakeBehaviour | null): this {
    if (behaviour === null) this.byEndpoint.delete(endpointId);
    else this.byEndpoint.set(endpointId, behaviour);
    return this;
  }

  static answer(content: string, usage: CompletionUsage | null = DEFAULT_USAGE): FakeBehaviour {
    return { kind: "answer", content, usage };
  }

  static stream(pieces: readonly string[], options: { usage?: CompletionUsage | null; breakAfter?: number } = {}): FakeBehaviour {
    return { kind: "stream", pieces, usage: options.usage === undefined ? DEFAULT_USAGE : options.usage, ...(options.breakAfter === undefined ? {} : { breakAfter: options.breakAfter }) };
  }

  static fail(kind: UpstreamFailureKind, options: { status?: number; retryAfterInMs?: number } = {}): FakeBehaviour {
    return { kind: "fail", error: new UpstreamError(kind, `fake upstream failure (${kind})`, options.status ?? null, options.retryAfterInMs) };
  }

  async complete(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<Completion> {
    const behaviour = this.take(endpoint, "complete", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const content = behaviour.kind === "answer" ? behaviour.content : behaviour.pieces.join("");
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return {
      body: {
        id: `chatcmpl-fake-${this.calls.length}`,
        object: "chat.completion",
        created: 1_767_225_600,
        model: options.deployment,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        ...(usage ? { usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens } } : {}),
      },
      usage,
    };
  }

  async stream(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<CompletionChunk>> {
    const behaviour = this.take(endpoint, "stream", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const pieces = behaviour.kind === "stream" ? behaviour.pieces : [behaviour.content];
    const breakAfter = behaviour.kind === "stream" ? behaviour.breakAfter : undefined;
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return this.chunks(endpoint, options.deployment, pieces, usage, breakAfter);
  }

  private async *chunks(endpoint: EndpointPolicy, model: string, pieces: readonly string[], usage: CompletionUsage | null, breakAfter: number | undefined): AsyncIterable<CompletionChunk> {
    const base = { id: `chatcmpl-fake-${this.calls.length}`, object: "chat.completion.chunk", created: 1_767_225_600, model };
    try {
      yield { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] };
      for (const [index, piece] of pieces.entries()) {
        if (breakAfter !== undefined && index >= breakAfter) throw new UpstreamError("connection", `fake stream from ${endpoint.id} broke`);
        yield { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
      }
      yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
      if (usage) {
        yield {
          ...base,
          choices: [],
          usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens } },
        };
      }
    } finally {
      this.streamsClosed += 1;
    }
  }

  /** Embeddings: one small deterministic vector per input item; usage from the behaviour (input tokens only). */
  async createEmbeddings(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<EmbeddingsResult> {
    const behaviour = this.take(endpoint, "createEmbeddings", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    const embeddingsUsage = usage ? { promptTokens: usage.promptTokens, cachedPromptTokens: 0, completionTokens: 0 } : null;
    return { body: fakeEmbeddingsBody(body, options.deployment, embeddingsUsage), usage: embeddingsUsage };
  }

  /** A Response whose output text is the behaviour's content (a stream behaviour's pieces joined). */
  async createResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const behaviour = this.take(endpoint, "createResponse", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const text = behaviour.kind === "answer" ? behaviour.content : behaviour.pieces.join("");
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return { body: fakeResponseBody(`resp_fake_${this.calls.length}`, options.deployment, text, usage), usage };
  }

  /** The typed events of a streamed Response, one `response.output_text.delta` per piece. */
  async streamResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>> {
    const behaviour = this.take(endpoint, "streamResponse", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const pieces = behaviour.kind === "stream" ? behaviour.pieces : [behaviour.content];
    const breakAfter = behaviour.kind === "stream" ? behaviour.breakAfter : undefined;
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return this.responseEvents(endpoint, `resp_fake_${this.calls.length}`, options.deployment, pieces, usage, breakAfter);
  }

  /**
   * A stored Response, by id: retrieve and cancel answer the Response (output text the behaviour's
   * content; cancel's status `cancelled`), delete `{ deleted: true }`, input_items a list of one user
   * message saying the content. `usage` is always null (a read bills nothing); the body keeps its own.
   */
  async callStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<ResponseResult> {
    const behaviour = this.take(endpoint, "callStoredResponse", { action: call.action, responseId: call.responseId, query: call.query.map(([key, value]) => [key, value]) }, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const text = behaviour.kind === "answer" ? behaviour.content : behaviour.pieces.join("");
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    const id = call.responseId;
    if (call.action === "delete") return { body: { id, object: "response", deleted: true }, usage: null };
    if (call.action === "input_items") {
      const item = { type: "message", id: `msg_in_${id}`, status: "completed", role: "user", content: [{ type: "input_text", text }] };
      return { body: { object: "list", data: [item], first_id: item.id, last_id: item.id, has_more: false }, usage: null };
    }
    const body = fakeResponseBody(id, options.deployment, text, usage);
    return { body: call.action === "cancel" ? { ...body, status: "cancelled" } : body, usage: null };
  }

  /** A stored Response's events replayed (`?stream=true`): the behaviour's pieces, as `streamResponse` streams them. */
  async streamStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>> {
    const behaviour = this.take(endpoint, "streamStoredResponse", { action: call.action, responseId: call.responseId, query: call.query.map(([key, value]) => [key, value]) }, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const pieces = behaviour.kind === "stream" ? behaviour.pieces : [behaviour.content];
    const breakAfter = behaviour.kind === "stream" ? behaviour.breakAfter : undefined;
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return this.responseEvents(endpoint, call.responseId, options.deployment, pieces, usage, breakAfter);
  }

  /** A compaction: one user message saying the behaviour's content, then one compaction item (random-looking base64); with usage. */
  async compactResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const behaviour = this.take(endpoint, "compactResponse", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    const text = behaviour.kind === "answer" ? behaviour.content : behaviour.pieces.join("");
    const usage = behaviour.usage === undefined ? this.defaultUsage : behaviour.usage;
    return { body: fakeCompactionBody(`resp_fake_${this.calls.length}`, text, usage), usage };
  }

  /** A count: the default usage's prompt tokens; `usage` null (a count makes nothing). */
  async countInputTokens(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const behaviour = this.take(endpoint, "countInputTokens", body, options);
    if (behaviour.kind === "fail") throw behaviour.error;
    return { body: { object: "response.input_tokens", input_tokens: (behaviour.usage ?? this.defaultUsage)?.promptTokens ?? 0 }, usage: null };
  }

  private async *responseEvents(endpoint: EndpointPolicy, id: string, model: string, pieces: readonly string[], usage: CompletionUsage | null, breakAfter: number | undefined): AsyncIterable<ResponseStreamEvent> {
    try {
      for (const event of fakeResponseEvents(id, model, pieces, usage)) {
        if (breakAfter !== undefined && event.type === "response.output_text.delta" && Number(event.piece) >= breakAfter) throw new UpstreamError("connection", `fake stream from ${endpoint.id} broke`);
        const { piece: _piece, ...rest } = event;
        yield rest;
      }
    } finally {
      this.streamsClosed += 1;
    }
  }

  private take(endpoint: EndpointPolicy, method: RecordedCall["method"], body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): FakeBehaviour {
    this.calls.push({ method, endpointId: endpoint.id, region: endpoint.region, endpointClass: endpoint.class, body: structuredClone(body), options });
    return this.byEndpoint.get(endpoint.id) ?? this.queue.shift() ?? { kind: "answer", content: this.defaultContent };
  }
}
