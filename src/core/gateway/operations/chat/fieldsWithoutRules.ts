import { inspectEveryString } from "../../pipeline/inspectEveryString.js";

/**
 * The fields of an answer's message (or a stream's delta) with a rule of their own: the role, the
 * text, the refusal, tool and function calls. Every other field is one Palisade has no rule for
 * (`reasoning_content` from some providers' models, `annotations` of a web search, Azure On Your
 * Data's `context` with its citations and retrieved documents, a field added to the API later), and
 * its strings are inspected as they are.
 */
export const MESSAGE_FIELDS_WITH_RULES: ReadonlySet<string> = new Set(["role", "content", "refusal", "tool_calls", "function_call"]);

/**
 * The fields of a choice that are metadata, never model text: its index, why it finished, Azure's
 * content filter results, and the token log probabilities (read by their own rule: withheld when a
 * text of the choice was redacted). `message` and `delta` have rules of their own; every other field
 * (vLLM's `stop_reason`, SGLang's `matched_stop`, Together's `text`, one a provider adds later) is
 * text beside the answer, inspected as it is.
 */
export const CHOICE_METADATA: ReadonlySet<string> = new Set(["index", "finish_reason", "logprobs", "content_filter_results"]);

/**
 * The top-level fields of a chat completion (or a stream's chunk) that are metadata, never model
 * text: ids, the model, counts, Azure's prompt filter results, stream obfuscation padding, and the
 * choices (read by their own rules). Every other top-level field (Perplexity's `citations` and
 * `search_results`, a field a provider adds later) is text beside the answer, inspected as it is.
 */
export const ANSWER_FIELDS_WITH_RULES: ReadonlySet<string> = new Set([
  "id",
  "object",
  "created",
  "model",
  "system_fingerprint",
  "service_tier",
  "usage",
  "prompt_filter_results",
  "prompt_annotations",
  "obfuscation",
  "choices",
]);

/** `out` with every string of `value`'s fields outside `withRules` inspected (only the fields that changed are replaced). */
export function inspectFieldsWithoutRules(value: Readonly<Record<string, unknown>>, withRules: ReadonlySet<string>, out: Record<string, unknown>, inspect: (text: string) => string): void {
  for (const field of Object.keys(value)) {
    const child = value[field];
    if (withRules.has(field) || child === null || child === undefined) continue;
    const inspected = inspectEveryString(child, inspect);
    if (inspected !== child) out[field] = inspected;
  }
}
