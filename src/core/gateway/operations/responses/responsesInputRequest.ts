import { z } from "zod";
import { type ResponsesRequest, responsesRequestSchema } from "./responsesRequest.js";

/**
 * The body of a call that takes a Responses input without making a Response (`responses.compact`,
 * `responses.inputTokens.count`): a create's fields, but `input` may be absent (a compaction of what
 * `previous_response_id` names; a count of instructions or tools alone). Palisade requires `model`
 * (the API lets a count go without one): the allowlist and the route are decided by it.
 */
export const responsesInputRequestSchema = responsesRequestSchema.extend({
  input: z.union([z.string(), z.array(z.object({ type: z.string().optional(), role: z.string().optional() }).passthrough())]).nullable().optional(),
});

export type ResponsesInputRequest = z.infer<typeof responsesInputRequestSchema>;

/** Requests with no input, seen as a create with an empty list (what the content walk reads); one per request object. */
const asCreates = new WeakMap<ResponsesInputRequest, ResponsesRequest>();

/** The request as the content walk of a create reads it (an absent input is an empty list: nothing to read). */
export function asResponsesRequest(request: ResponsesInputRequest): ResponsesRequest {
  if (request.input !== undefined && request.input !== null) return request as ResponsesRequest;
  let seen = asCreates.get(request);
  if (seen === undefined) {
    seen = { ...request, input: [] };
    asCreates.set(request, seen);
  }
  return seen;
}
