import { isRecord } from "../../../isRecord.js";
import { inspectEveryString } from "../../pipeline/inspectEveryString.js";
import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { CHOICE_METADATA } from "./fieldsWithoutRules.js";

export type Choice = Record<string, unknown> & { readonly message?: Record<string, unknown> };

/**
 * A choice with every string of its message inspected (content and refusal whether a string or a list
 * of parts, tool and function calls whatever the shape of their arguments, Azure's `context`,
 * `reasoning_content`, ...), and every string of its fields beside the message (`stop_reason`).
 */
export function inspectChoice(choice: Choice, scanner: OutputScanner): Choice {
  const out: Record<string, unknown> = { ...choice };
  let changed = false;
  for (const [field, value] of Object.entries(choice)) {
    if (CHOICE_METADATA.has(field) || value === null || value === undefined) continue;
    const inspected = inspectEveryString(value, (text) => scanner.text(text));
    if (inspected === value) continue;
    out[field] = inspected;
    changed = true;
  }
  return changed && "logprobs" in choice ? { ...out, logprobs: withheldLogprobs(choice.logprobs) } : out;
}

/**
 * Token log probabilities spell the text token by token (`token`, `bytes`, `top_logprobs`), and some
 * servers' cover every token the model wrote (vLLM's include the reasoning): where any text of a choice
 * was redacted, its tokens would give the value back, so every field of them is withheld (null).
 */
export function withheldLogprobs(logprobs: unknown): unknown {
  return isRecord(logprobs) ? Object.fromEntries(Object.keys(logprobs).map((field) => [field, null])) : logprobs;
}
