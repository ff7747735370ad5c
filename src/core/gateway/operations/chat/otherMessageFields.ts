import { inspectEveryString } from "../../pipeline/inspectEveryString.js";

/**
 * The fields of an answer's message (or a stream's delta) with a rule of their own: the role, the
 * text, the refusal, tool and function calls, Azure On Your Data's `context`. Every other field is
 * one Palisade has no rule for (`reasoning_content` from some providers' models, `annotations` of a
 * web search, a field added to the API later), and its strings are inspected as they are.
 */
export const MESSAGE_FIELDS_WITH_RULES: ReadonlySet<string> = new Set(["role", "content", "refusal", "tool_calls", "function_call", "context"]);

/** `out` with every string of `message`'s other fields inspected (only the fields that changed are replaced). */
export function inspectOtherMessageFields(message: Readonly<Record<string, unknown>>, out: Record<string, unknown>, inspect: (text: string) => string): void {
  for (const [field, value] of Object.entries(message)) {
    if (MESSAGE_FIELDS_WITH_RULES.has(field) || value === null) continue;
    const inspected = inspectEveryString(value, inspect);
    if (inspected !== value) out[field] = inspected;
  }
}
