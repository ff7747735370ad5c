import { type EndpointPolicy } from "../policy/schema.js";

/** Token usage as the upstream reports it. */
export interface CompletionUsage {
  readonly promptTokens: number;
  readonly cachedPromptTokens: number;
  readonly completionTokens: number;
}

/** An upstream chat completion, as a plain JSON object in OpenAI's shape. */
export interface Completion {
  readonly body: Readonly<Record<string, unknown>> & { readonly choices: readonly CompletionChoice[] };
  readonly usage: CompletionUsage | null;
}

export interface CompletionChoice {
  readonly index: number;
  readonly message?: { readonly role: string; readonly content: string | null; readonly [key: string]: unknown };
  readonly finish_reason?: string | null;
  readonly [key: string]: unknown;
}

/** One SSE chunk of a streamed completion, in OpenAI's shape. */
export interface CompletionChunk {
  readonly id?: string;
  readonly choices: readonly {
    readonly index: number;
    readonly delta?: { readonly content?: string | null; readonly role?: string; readonly [key: string]: unknown };
    readonly finish_reason?: string | null;
    readonly [key: string]: unknown;
  }[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number; readonly prompt_tokens_details?: { readonly cached_tokens?: number } } | null;
  readonly [key: string]: unknown;
}

export interface CompletionCallOptions {
  /** The upstream deployment (Azure) or model id (OpenAI platform). */
  readonly deployment: string;
  readonly timeoutInMs: number;
  /** W3C trace context to carry on. */
  readonly traceparent?: string;
  /** Sent only with a `traceparent`. */
  readonly tracestate?: string;
  readonly requestId: string;
  readonly abortSignal?: AbortSignal;
}

/** Why an upstream call failed, in the terms routing needs. */
export type UpstreamFailureKind = "rate_limited" | "server_error" | "timeout" | "connection" | "fatal";

/** Thrown by providers; routing reads `kind` and `retryAfterInMs`. Never carries prompt or key material. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterInMs: number | undefined = undefined,
    /** The upstream's own error code and param (`content_filter`, `context_length_exceeded`, ...), when it gave a plain token. */
    readonly upstream: UpstreamErrorDetail = {},
  ) {
    super(message);
  }
}

export interface UpstreamErrorDetail {
  readonly code?: string | undefined;
  readonly param?: string | undefined;
  /** Azure OpenAI's content filter verdicts (`innererror.content_filter_result`): names, booleans and severity words, sanitised before use. */
  readonly contentFilterResult?: unknown;
}

const TOKEN = /^[A-Za-z0-9_.[\]-]{1,64}$/;

/** An upstream error code or param kept only when it is a plain token: it can never carry prompt text. */
export function plainToken(value: unknown): string | undefined {
  return typeof value === "string" && TOKEN.test(value) ? value : undefined;
}

export function isUpstreamError(value: unknown): value is UpstreamError {
  return value instanceof Error && value.name === "UpstreamError" && "kind" in value;
}

/**
 * Calls one upstream endpoint. The request body is OpenAI's chat-completions body with the model
 * already mapped; the provider never retries (routing decides about failover).
 */
export interface CompletionProvider {
  complete(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<Completion>;
  stream(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<CompletionChunk>>;
}
