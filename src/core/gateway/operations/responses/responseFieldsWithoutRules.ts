/**
 * The top-level fields of a Response with a rule of their own: `output` and `output_text` (inspected
 * as output), metadata (ids, times, status, usage, the upstream's error) and the request's settings
 * the API echoes back (`instructions`, `tools`, `metadata`, `text`, ...: what the upstream was sent,
 * inspected as input). Every other field (xAI's `citations`, a field a provider adds later) is text
 * beside the answer: inspected by output DLP and screened by content safety as it is.
 */
export const RESPONSE_FIELDS_WITH_RULES: ReadonlySet<string> = new Set([
  "id",
  "object",
  "created_at",
  "completed_at",
  "status",
  "error",
  "incomplete_details",
  "model",
  "output",
  "output_text",
  "usage",
  "billing",
  "background",
  "conversation",
  "previous_response_id",
  "instructions",
  "max_output_tokens",
  "max_tool_calls",
  "metadata",
  "parallel_tool_calls",
  "prompt",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "service_tier",
  "store",
  "temperature",
  "text",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "truncation",
  "user",
]);

/**
 * The fields of the output item types read by a rule of their own (a message's parts, a call's
 * arguments, a reasoning item's summary and text). Every other field of such an item (a provider's
 * own, one added later) and every field of an item of any other type has every string inspected.
 */
export const ITEM_FIELDS_WITH_RULES: Readonly<Record<string, ReadonlySet<string>>> = {
  message: new Set(["content"]),
  function_call: new Set(["arguments"]),
  custom_tool_call: new Set(["input"]),
  reasoning: new Set(["summary", "content"]),
};
