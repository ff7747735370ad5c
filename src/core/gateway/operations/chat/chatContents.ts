import { type ContentField, type ContentOrigin } from "../../pipeline/Operation.js";
import { appendPointer, pointer } from "../../pipeline/jsonPointer.js";
import { metadataContents } from "../../pipeline/metadataContents.js";
import { type InputWalk, inputStrings, newWalk } from "../../pipeline/inputStrings.js";
import { type ChatCompletionRequest, type ChatMessage, toolCallOf } from "./chatRequest.js";
import { isRecord } from "../../../isRecord.js";
import { checkMediaPart, inlineFileText, remoteUrlOf } from "../../pipeline/inlineParts.js";
import { DATA_SOURCE_FIELDS, dataSourceContents } from "./dataSources.js";

/** Content parts DLP can read; every other part type (image_url, input_audio, file) cannot be inspected, save a file whose inline data is text. */
const TEXT_PART_TYPES = new Set(["text", "refusal"]);
/** Part types with a rule of their own below; the strings of any other part are read by the generic walk (and the part still counts as uninspectable). */
const KNOWN_PART_TYPES = new Set(["text", "refusal", "file", "image_url", "input_audio"]);

/** Message fields with a rule below; the strings of any other field (a provider's extension, a field added later) are read by the generic walk. */
const MESSAGE_FIELDS = new Set(["role", "content", "refusal", "name", "tool_calls", "function_call", "tool_call_id"]);

/**
 * Top-level fields that carry no text (numbers, switches, enums), or have a rule of their own
 * (`user`, `safety_identifier` and `prompt_cache_key` are pseudonymised; Azure On Your Data's
 * `data_sources` are read without their credentials, dataSources.ts). Every other field's strings are
 * read by the generic walk: a parameter added to the API after this list.
 */
const REQUEST_FIELDS = new Set([
  "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "user", "tools", "functions",
  "response_format", "tool_choice", "function_call", "prediction", "metadata", "stop", "store", "logprobs", "top_logprobs", "seed", "presence_penalty",
  "frequency_penalty", "logit_bias", "parallel_tool_calls", "service_tier", "reasoning_effort", "verbosity", "modalities", "audio", "web_search_options",
  "safety_identifier", "prompt_cache_key", "prompt_cache_retention", ...DATA_SOURCE_FIELDS,
]);

/**
 * Every field of a chat request that carries content: message text parts and refusals (tool and
 * function results included), `name`s, tool-call and function-call arguments and names sent back as
 * history, every string of the tools' and functions' definitions and of the response format (names,
 * descriptions, enums, defaults, property names, a custom tool's grammar: the model reads them all),
 * the tool choice, `prediction` (Predicted Outputs: text the model is given to reuse, so it reaches
 * the model like a message), `metadata` keys and values (kept upstream with a stored completion),
 * `stop` sequences, a file part's name and inline text, a remote image's URL, and the strings of message fields, part types
 * and request fields Palisade has no rule for.
 */
export function chatContents(request: ChatCompletionRequest): ContentField[] {
  const fields: ContentField[] = [];
  request.messages.forEach((message, index) => messageContents(message, pointer("messages", index), { fields, origin: originOf(message.role) }));
  const app: Collect = { fields, origin: undefined };
  const walk = newWalk();
  // Definitions: the model reads every string of them (it is shown the schemas).
  for (const field of ["tools", "functions", "tool_choice", "function_call", "response_format"] as const) inputStrings(request[field as keyof ChatCompletionRequest], pointer(field), walk);
  for (const field in request) if (!REQUEST_FIELDS.has(field)) inputStrings((request as Record<string, unknown>)[field], pointer(field), walk);
  dataSourceContents(request, walk);
  addWalk(walk, fields, undefined);
  predictionContents((request as { readonly prediction?: unknown }).prediction, { fields, origin: "document" });
  for (const found of metadataContents((request as { readonly metadata?: unknown }).metadata)) fields.push(found);
  // Stop sequences are the caller's text, sent to the model service like the prompt.
  const stop = (request as { readonly stop?: unknown }).stop;
  if (isContent(stop)) add(app, "text", stop, pointer("stop"));
  else if (Array.isArray(stop)) stop.forEach((sequence: unknown, index) => isContent(sequence) && add(app, "text", sequence, pointer("stop", index)));
  return fields;
}

/** The walk's strings as content fields of `origin` (absent: `app`). */
function addWalk(walk: InputWalk, fields: ContentField[], origin: ContentOrigin | undefined): void {
  for (const found of walk.found) fields.push(origin === undefined ? found : { ...found, origin });
}

/** A content value, worth a field (and its pointer, built only then). */
const isContent = (value: unknown): value is string => typeof value === "string" && value !== "";

/** Where fields go, and their origin (absent for tools and schemas: they count as `app`). */
interface Collect {
  readonly fields: ContentField[];
  readonly origin: ContentOrigin | undefined;
}

function add(collect: Collect, kind: ContentField["kind"], text: string, path: string): void {
  const { fields, origin } = collect;
  fields.push(origin === undefined ? { path, text, kind } : { path, text, kind, origin });
}

/** Tool and function results are third-party content (where injections hide); the user's turns are the user's own words. */
function originOf(role: ChatMessage["role"]): ContentOrigin {
  if (role === "user") return "user";
  if (role === "tool" || role === "function") return "document";
  if (role === "assistant") return "model";
  return "app";
}

// Each pointer is built only for a value that is content: most messages have no refusal, name or tool calls.
function messageContents(message: ChatMessage, at: string, collect: Collect): void {
  if (typeof message.content === "string") {
    if (isContent(message.content)) add(collect, "text", message.content, appendPointer(at, "content"));
  } else if (Array.isArray(message.content)) {
    message.content.forEach((part, index) => {
      if (part.type === "text") {
        if (isContent(part.text)) add(collect, "text", part.text, appendPointer(at, "content", index, "text"));
      } else if (part.type === "refusal") {
        const refusal = (part as Record<string, unknown>).refusal;
        if (isContent(refusal)) add(collect, "text", refusal, appendPointer(at, "content", index, "refusal"));
      } else if (part.type === "file") {
        fileContents((part as Record<string, unknown>).file, appendPointer(at, "content", index, "file"), collect);
      } else if (part.type === "image_url") {
        // The image is fetched unread; the URL itself goes to the provider and on to its host.
        const url = remoteUrlOf(isRecord(part.image_url) ? part.image_url.url : undefined);
        if (url !== null) add(collect, "text", url, appendPointer(at, "content", index, "image_url", "url"));
      } else if (!KNOWN_PART_TYPES.has(part.type)) {
        addWalk(inputStrings(part, appendPointer(at, "content", index)), collect.fields, collect.origin);
      }
    });
  }
  for (const field in message) {
    if (!MESSAGE_FIELDS.has(field)) addWalk(inputStrings((message as Record<string, unknown>)[field], appendPointer(at, field)), collect.fields, collect.origin);
  }
  if (isContent(message.refusal)) add(collect, "text", message.refusal, appendPointer(at, "refusal"));
  if (isContent(message.name)) add(collect, "identifier", message.name, appendPointer(at, "name"));
  message.tool_calls?.forEach((call, index) => {
    const { kind, args, name } = toolCallOf(call);
    if (isContent(args)) add(collect, "text", args, appendPointer(at, "tool_calls", index, kind, kind === "function" ? "arguments" : "input"));
    if (isContent(name)) add(collect, "identifier", name, appendPointer(at, "tool_calls", index, kind, "name"));
  });
  if (isRecord(message.function_call)) {
    const { arguments: args, name } = message.function_call;
    if (isContent(args)) add(collect, "text", args, appendPointer(at, "function_call", "arguments"));
    if (isContent(name)) add(collect, "identifier", name, appendPointer(at, "function_call", "name"));
  }
}

/** A file part: its name, and its inline data when that is text (redactions written back encoded). */
function fileContents(file: unknown, at: string, collect: Collect): void {
  if (!isRecord(file)) return;
  if (isContent(file.filename)) add(collect, "text", file.filename, appendPointer(at, "filename"));
  const inline = inlineFileText(file.file_data);
  if (inline === null || inline.text === "") return;
  const path = appendPointer(at, "file_data");
  collect.fields.push({ path, text: inline.text, kind: "text", origin: "document", encode: inline.encode });
}

/** `prediction.content`: a string or text parts (a file's content the answer is expected to repeat). */
function predictionContents(prediction: unknown, collect: Collect): void {
  if (!isRecord(prediction)) return;
  const at = pointer("prediction", "content");
  if (isContent(prediction.content)) add(collect, "text", prediction.content, at);
  else if (Array.isArray(prediction.content)) {
    prediction.content.forEach((part: unknown, index) => {
      if (isRecord(part) && isContent(part.text)) add(collect, "text", part.text, appendPointer(at, index, "text"));
    });
  }
}

/** Parts DLP cannot read: images, audio, files that are not text, and part types Palisade does not know. */
export function uninspectableChatParts(request: ChatCompletionRequest): number {
  let count = 0;
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) {
      if (TEXT_PART_TYPES.has(part.type)) continue;
      const file = (part as Record<string, unknown>).file;
      if (part.type === "file" && isRecord(file) && inlineFileText(file.file_data) !== null) continue;
      count += 1;
    }
  }
  return count;
}

/** Refuses (400) an image or audio part whose inline data is not an image or audio (text would pass DLP unread). */
export function checkChatMediaParts(request: ChatCompletionRequest): void {
  request.messages.forEach((message, messageIndex) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, index) => {
      const at = `messages[${messageIndex}].content[${index}]`;
      const record = part as Record<string, unknown>;
      if (part.type === "image_url" && isRecord(record.image_url)) checkMediaPart("image", record.image_url.url, `${at}.image_url.url`);
      else if (part.type === "input_audio" && isRecord(record.input_audio)) checkMediaPart("audio", record.input_audio.data, `${at}.input_audio.data`);
    });
  });
}
