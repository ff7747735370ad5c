import { type EndpointPolicy } from "../policy/schema.js";
import { type CompletionCallOptions } from "./CompletionProvider.js";
import { type ResponseResult } from "./ResponsesProvider.js";

/**
 * Calls that take a Responses input without making a Response: `POST /responses/compact` (the model
 * compacts a long conversation into output items) and `POST /responses/input_tokens` (counts what a
 * request would send the model). On Azure under `/openai/v1`. The body's model is mapped to
 * `options.deployment`. Never retries.
 */
export interface ResponsesInputProvider {
  /** The compacted response as JSON (`object: "response.compaction"`), with its usage. */
  compactResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult>;
  /** The count as JSON (`object: "response.input_tokens"`); `usage` is null (a count makes nothing). */
  countInputTokens(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult>;
}
