import { isRecord } from "../../../isRecord.js";
import { inspectEveryString } from "../../pipeline/inspectEveryString.js";
import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { inspectFieldsWithoutRules } from "../chat/fieldsWithoutRules.js";
import { ITEM_FIELDS_WITH_RULES, RESPONSE_FIELDS_WITH_RULES } from "./responseFieldsWithoutRules.js";

/**
 * The kinds of output text: message text and refusals, call arguments, reasoning summaries and
 * reasoning text; `other` is any string of an item or part Palisade has no specific rule for.
 */
export type OutputTextKind = "text" | "refusal" | "arguments" | "summary" | "reasoning" | "other";

/** Inspects one text of an output item: its kind, and its part's index (message content, reasoning summary). */
export type InspectOutputText = (text: string, kind: OutputTextKind, contentIndex: number) => string;

/** Parts of a list with their text (`field`) inspected; `logprobs` (the text token by token) withheld where the text changed. */
function inspectParts(parts: unknown[], textField: (part: Record<string, unknown>) => readonly [string, OutputTextKind] | null, inspect: InspectOutputText): unknown[] {
  return parts.map((part: unknown, index) => {
    if (!isRecord(part)) return part;
    const found = textField(part);
    if (found === null) return part;
    const [field, kind] = found;
    const text = part[field];
    if (typeof text !== "string") return part;
    const inspected = inspect(text, kind, index);
    const annotations = inspectAnnotations(part, inspect);
    if (inspected === text && annotations === part.annotations) return part;
    return { ...part, [field]: inspected, ...(annotations === part.annotations ? {} : { annotations }), ...(inspected !== text && Array.isArray(part.logprobs) ? { logprobs: [] } : {}) };
  });
}

/**
 * A text part's `annotations` (a web search's `url_citation` titles, a file search's file names):
 * strings the caller sees beside the text, inspected as they are, as chat's `annotations` are.
 */
export function inspectAnnotations(part: Record<string, unknown>, inspect: InspectOutputText): unknown {
  return Array.isArray(part.annotations) && part.annotations.length > 0 ? inspectEveryString(part.annotations, (text) => inspect(text, "other", 0)) : part.annotations;
}

const MESSAGE_PARTS: Readonly<Record<string, readonly [string, OutputTextKind]>> = { output_text: ["text", "text"], refusal: ["refusal", "refusal"] };

/**
 * Fields of an item type that hold binary data, not text: an image generation's picture (base64).
 * Everything else of an item without a specific rule is text to inspect.
 */
const BINARY_FIELDS: Readonly<Record<string, readonly string[]>> = { image_generation_call: ["result"] };

/**
 * Every string of an item (or a message part) with no specific rule: a hosted tool's call and results
 * (`mcp_call` arguments and output, `file_search_call` results, `web_search_call` queries,
 * `code_interpreter_call` code and logs) or a type added to the API after this code was written.
 */
function inspectOther(value: Record<string, unknown>, inspect: InspectOutputText): Record<string, unknown> {
  const binary = typeof value.type === "string" ? BINARY_FIELDS[value.type] : undefined;
  const inspected = inspectEveryString(binary ? Object.fromEntries(Object.entries(value).filter(([key]) => !binary.includes(key))) : value, (text) => inspect(text, "other", 0));
  return binary ? { ...value, ...inspected } : inspected;
}

/** Parts of a list: those with a rule (`textField`) by it, every string of any other (`inspectOther`); a value that is not a list, every string. */
function inspectPartList(parts: unknown, textField: (part: Record<string, unknown>) => readonly [string, OutputTextKind] | null, inspect: InspectOutputText): unknown {
  if (!Array.isArray(parts)) return inspectEveryString(parts, (text) => inspect(text, "other", 0));
  return inspectParts(parts, textField, inspect).map((part) => (isRecord(part) && textField(part) === null ? inspectOther(part, inspect) : part));
}

/** A call's arguments (or input): a string by its rule; any other shape (an object), every string. */
const inspectArguments = (value: unknown, inspect: InspectOutputText): unknown => (typeof value === "string" ? inspect(value, "arguments", 0) : inspectEveryString(value, (text) => inspect(text, "other", 0)));

const RULES: Readonly<Record<string, (item: Record<string, unknown>, inspect: InspectOutputText) => Record<string, unknown>>> = {
  function_call: (item, inspect) => ({ arguments: inspectArguments(item.arguments, inspect) }),
  custom_tool_call: (item, inspect) => ({ input: inspectArguments(item.input, inspect) }),
  reasoning: (item, inspect) => ({
    summary: inspectPartList(item.summary, (part) => (part.type === "summary_text" ? ["text", "summary"] : null), inspect),
    content: inspectPartList(item.content, (part) => (part.type === "reasoning_text" ? ["text", "reasoning"] : null), inspect),
  }),
  // Content that is not a list of parts (one string, from some OpenAI-compatible servers): every string of it.
  message: (item, inspect) => ({ content: inspectPartList(item.content, (part) => (typeof part.type === "string" ? (MESSAGE_PARTS[part.type] ?? null) : null), inspect) }),
};

/**
 * One output item of a Response with its texts inspected: a message's `output_text` parts (and their
 * token logprobs) and refusals, a function call's (or custom tool call's) arguments, a reasoning item's
 * summaries and reasoning text; every string of their other fields and parts, and of any other item (`inspectOther`).
 */
export function inspectResponseOutput(item: Record<string, unknown>, inspect: InspectOutputText): Record<string, unknown> {
  const rule = typeof item.type === "string" ? RULES[item.type] : undefined;
  const ruled = typeof item.type === "string" ? ITEM_FIELDS_WITH_RULES[item.type] : undefined;
  if (!rule || !ruled) return inspectOther(item, inspect);
  // The item's other fields (a provider's own, one added later): every string, ids and types aside, as for an item without a rule.
  const out = { ...item, ...inspectOther(Object.fromEntries(Object.entries(item).filter(([field]) => !ruled.has(field))), inspect) };
  for (const [field, value] of Object.entries(rule(item, inspect))) if (value !== undefined) out[field] = value;
  return out;
}

/**
 * A Response object (created, or read back by id) with every output item inspected through `scanner`,
 * and the SDK's `output_text` convenience field some upstreams add (it repeats the output text).
 */
export function inspectResponseAnswer(response: Readonly<Record<string, unknown>>, scanner: OutputScanner): Readonly<Record<string, unknown>> {
  if (scanner.action === "allow" || !Array.isArray(response.output)) return response;
  const output = (response.output as unknown[]).map((item) => (isRecord(item) ? inspectResponseOutput(item, (text) => scanner.text(text)) : item));
  const body: Record<string, unknown> = { ...response, output };
  // Some upstreams add the SDK's convenience field; it repeats the output text, so it is inspected too.
  if (typeof response.output_text === "string") body.output_text = scanner.text(response.output_text);
  // A provider's fields beside the output (xAI's `citations`) reach the caller too.
  inspectFieldsWithoutRules(response, RESPONSE_FIELDS_WITH_RULES, body, (text) => scanner.text(text));
  return body;
}
