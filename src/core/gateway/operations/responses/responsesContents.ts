import { type ContentField, type ContentOrigin } from "../../pipeline/Operation.js";
import { pointer } from "../../pipeline/jsonPointer.js";
import { metadataContents } from "../../pipeline/metadataContents.js";
import { type InputWalk, inputFieldStrings, inputStrings, newWalk } from "../../pipeline/inputStrings.js";
import { type ResponsesRequest } from "./responsesRequest.js";
import { isRecord } from "../../../isRecord.js";

/**
 * Part types Palisade knows: text parts, whose text is read, and data parts (`input_image`,
 * `input_file`, `input_audio`), judged by what they hold (inputStrings.ts). A part of any other type
 * has its strings read too, and still counts as uninspectable (it may carry what no string shows).
 */
const KNOWN_PARTS = new Set(["input_text", "output_text", "text", "summary_text", "reasoning_text", "refusal", "input_image", "input_file", "input_audio"]);
/** The fields of an item that hold parts. */
const PART_LISTS = ["content", "output", "summary"] as const;

/**
 * Top-level fields without text (numbers, switches, enums, ids), or with a rule of their own (`user`,
 * `safety_identifier`, `prompt_cache_key` are pseudonymised). Every other field's strings are read.
 */
const REQUEST_FIELDS = new Set([
  "model", "input", "instructions", "tools", "tool_choice", "text", "metadata", "prompt", "stream", "stream_options", "store", "previous_response_id",
  "conversation", "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs", "user", "safety_identifier", "prompt_cache_key",
  "prompt_cache_retention", "reasoning", "include", "parallel_tool_calls", "truncation", "service_tier", "background",
]);

const MESSAGE_ORIGIN: ReadonlyMap<string, ContentOrigin> = new Map([
  ["user", "user"],
  ["system", "app"],
  ["developer", "app"],
  ["assistant", "model"],
]);
/**
 * Who wrote an input item: a message by its role; the model its calls (`*_call`: arguments, commands,
 * queries) and reasoning; anything else that carries text (tool outputs, items of types Palisade does
 * not know) is third-party content, screened as a document.
 */
function itemOrigin(item: Readonly<Record<string, unknown>>): ContentOrigin {
  if (isCall(item) || item.type === "reasoning") return "model";
  if ((item.type === undefined || item.type === "message") && typeof item.role === "string") return MESSAGE_ORIGIN.get(item.role) ?? "document";
  return "document";
}

const isCall = (item: Readonly<Record<string, unknown>>): boolean => typeof item.type === "string" && item.type.endsWith("_call");
/** A hosted tool's call item carries what the service returned (an MCP server's answer, search results, logs): documents. */
const CALL_RESULTS = new Set(["output", "outputs", "results", "error"]);
const isResult = (key: string): boolean => CALL_RESULTS.has(key);
const isNotResult = (key: string): boolean => !CALL_RESULTS.has(key);

interface ResponsesInput {
  readonly fields: ContentField[];
  readonly uninspectable: number;
}

/** One walk per request object: contents, the uninspectable count and the media checks all read it. */
const walked = new WeakMap<ResponsesRequest, ResponsesInput>();

/**
 * Every string of a Responses request the model or the provider reads, each with who wrote it
 * (`ContentField.origin`, so content safety sends the user's words as the user prompt and tool outputs
 * as documents): `instructions`; the input (a string, or items of every type, every field but ids and
 * statuses: message parts, call arguments and names, tool outputs, reasoning summaries, a shell call's
 * command and environment, a patch's diff, a search's query, fields of types Palisade does not know);
 * every string of the tools (descriptions, schemas' enums, defaults and property names, a grammar) and
 * of the tool choice and text format; a reusable prompt's variables (the stored prompt itself counts
 * as uninspectable); `metadata`; unknown request
 * fields. Data parts are judged by what they hold (inputStrings.ts); a reasoning item's
 * `encrypted_content` must be ciphertext. Throws the 400 of a data part that holds text.
 */
function walk(request: ResponsesRequest): ResponsesInput {
  const known = walked.get(request);
  if (known !== undefined) return known;
  const fields: ContentField[] = [];
  let uninspectable = 0;
  const take = (found: InputWalk, origin: ContentOrigin): void => {
    for (const field of found.found) fields.push({ ...field, origin });
    uninspectable += found.uninspectable;
  };
  // `instructions` is the app's system prompt, like chat's system and developer messages.
  take(inputStrings(request.instructions, pointer("instructions")), "app");
  if (typeof request.input === "string") take(inputStrings(request.input, pointer("input")), "user");
  else {
    request.input.forEach((item, index) => {
      const at = pointer("input", index);
      if (isCall(item)) {
        take(inputFieldStrings(item, at, isNotResult), "model");
        take(inputFieldStrings(item, at, isResult), "document");
      } else take(inputStrings(item, at), itemOrigin(item));
      for (const list of PART_LISTS) uninspectable += unknownParts(item[list]);
    });
  }
  const app = newWalk();
  for (const field of ["tools", "tool_choice", "text"] as const) inputStrings((request as Record<string, unknown>)[field], pointer(field), app);
  for (const [field, value] of Object.entries(request)) if (!REQUEST_FIELDS.has(field)) inputStrings(value, pointer(field), app);
  take(app, "app");
  // A reusable prompt's variables are filled into the stored prompt upstream: text like a message.
  // The stored prompt itself (instructions, messages, tools set in the provider's dashboard) is content
  // Palisade never sees, like a file id: uninspectable, so the project's uninspectableInputs decides.
  const prompt = (request as { readonly prompt?: unknown }).prompt;
  if (isRecord(prompt)) {
    uninspectable += 1;
    if (isRecord(prompt.variables)) {
      take(inputStrings(prompt.variables, pointer("prompt", "variables")), "user");
      uninspectable += unknownParts(Object.values(prompt.variables));
    }
  }
  // Kept upstream with a stored Response, and shown in the provider's dashboards.
  for (const found of metadataContents((request as { readonly metadata?: unknown }).metadata)) fields.push({ ...found, origin: "app" });
  const result = { fields, uninspectable };
  walked.set(request, result);
  return result;
}

const unknownParts = (parts: unknown): number =>
  Array.isArray(parts) ? parts.filter((part: unknown) => isRecord(part) && !(typeof part.type === "string" && KNOWN_PARTS.has(part.type))).length : 0;

export const responsesContents = (request: ResponsesRequest): ContentField[] => walk(request).fields;

/** Parts DLP cannot read: images, audio, files that are not text, file ids and URLs, unknown part types, a stored prompt. */
export const uninspectableResponsesParts = (request: ResponsesRequest): number => walk(request).uninspectable;

/** Refuses (400) a data part that holds text (an image or audio that is text, a reasoning item's plain "encrypted_content"). */
export function checkResponsesMediaParts(request: ResponsesRequest): void {
  walk(request);
}
