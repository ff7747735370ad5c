import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { MESSAGE_FIELDS_WITH_RULES, inspectFieldsWithoutRules } from "./fieldsWithoutRules.js";

export type Choice = Record<string, unknown> & { readonly message?: Record<string, unknown> };

/** Every output field of a choice: content, refusal, tool-call (and legacy function-call) arguments, and every string of any other field (Azure's `context` among them). */
export function inspectChoice(choice: Choice, scanner: OutputScanner): Choice {
  const message = choice.message;
  if (!message) return choice;
  const out: Record<string, unknown> = { ...message };
  for (const field of ["content", "refusal"]) {
    const value = message[field];
    if (typeof value === "string") out[field] = scanner.text(value);
  }
  if (Array.isArray(message.tool_calls)) {
    out.tool_calls = (message.tool_calls as unknown[]).map((call) => {
      const { function: fn, custom } = call as { function?: { arguments?: unknown }; custom?: { input?: unknown } };
      if (typeof fn?.arguments === "string") return { ...(call as object), function: { ...fn, arguments: scanner.text(fn.arguments) } };
      // A custom tool's free-form input is its call's arguments.
      if (typeof custom?.input === "string") return { ...(call as object), custom: { ...custom, input: scanner.text(custom.input) } };
      return call;
    });
  }
  const functionCall = message.function_call as { arguments?: unknown } | undefined;
  if (typeof functionCall?.arguments === "string") out.function_call = { ...functionCall, arguments: scanner.text(functionCall.arguments) };
  inspectFieldsWithoutRules(message, MESSAGE_FIELDS_WITH_RULES, out, (text) => scanner.text(text));
  return { ...choice, message: out, ...withheldLogprobs(choice.logprobs, message, out) };
}

/**
 * Token log probabilities spell the text token by token (`token`, `bytes`, `top_logprobs`): where
 * a text was redacted, its tokens would give the value back, so they are withheld (null).
 */
function withheldLogprobs(logprobs: unknown, before: Record<string, unknown>, after: Record<string, unknown>): { logprobs?: unknown } {
  if (typeof logprobs !== "object" || logprobs === null) return {};
  const out: Record<string, unknown> = { ...logprobs };
  for (const field of ["content", "refusal"]) if (before[field] !== after[field] && field in out) out[field] = null;
  return { logprobs: out };
}
