import { type EndpointPolicy } from "../policy/schema.js";
import { type CompletionCallOptions, type CompletionUsage } from "./CompletionProvider.js";

/** An upstream Response object (Responses API), as plain JSON. */
export interface ResponseResult {
  readonly body: Readonly<Record<string, unknown>> & { readonly output?: readonly unknown[] };
  readonly usage: CompletionUsage | null;
}

/** One typed event of a streamed Response (`response.created`, `response.output_text.delta`, ...). */
export interface ResponseStreamEvent {
  readonly type: string;
  readonly sequence_number?: number;
  readonly [key: string]: unknown;
}

/** What can be done to a Response the upstream keeps, by id. */
export type StoredResponseAction = "retrieve" | "delete" | "cancel" | "input_items";

/** One call on a stored Response: the action, the id, and the query to pass on (names and flags, never content). */
export interface StoredResponseCall {
  readonly action: StoredResponseAction;
  readonly responseId: string;
  readonly query: readonly (readonly [string, string])[];
}

/**
 * Calls one upstream endpoint's Responses API (`/v1/responses`; on Azure, the v1 path
 * `/openai/v1/responses`). The body is OpenAI's Responses body with the model mapped to
 * `options.deployment`. Never retries.
 */
export interface ResponsesProvider {
  createResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult>;
  streamResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>>;
}

/** Calls on the Responses an upstream endpoint keeps. */
export interface StoredResponsesProvider {
  /**
   * A stored Response, by id: `GET /responses/{id}`, `DELETE /responses/{id}`, `POST
   * /responses/{id}/cancel`, `GET /responses/{id}/input_items` (on Azure under `/openai/v1`). The
   * answer's JSON body as is; `usage` is always null (a read bills nothing). Never retries.
   */
  callStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<ResponseResult>;
  /**
   * A stored Response's events replayed from the start (`GET /responses/{id}?stream=true`; a
   * background Response's stream, resumed): the same events as `streamResponse`. Never retries.
   */
  streamStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>>;
}

/** Usage as a Response reports it (`input_tokens`, `output_tokens`, cached input in `input_tokens_details`). */
export function responseUsageOf(usage: unknown): CompletionUsage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const fields = usage as { input_tokens?: unknown; output_tokens?: unknown; input_tokens_details?: { cached_tokens?: unknown } | null };
  const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0);
  return { promptTokens: count(fields.input_tokens), cachedPromptTokens: count(fields.input_tokens_details?.cached_tokens), completionTokens: count(fields.output_tokens) };
}
