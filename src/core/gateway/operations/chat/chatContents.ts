import { type ContentField, type ContentOrigin } from "../../pipeline/Operation.js";
import { appendPointer, describingTexts, pointer } from "../../pipeline/jsonPointer.js";
import { metadataContents } from "../../pipeline/metadataContents.js";
import { type ChatCompletionRequest, type ChatMessage, toolCallOf } from "./chatRequest.js";
import { isRecord } from "../../../isRecord.js";
import { checkMediaPart, inlineFileText } from "../../pipeline/inlineParts.js";

/** Content parts DLP can read; every other part type (image_url, input_audio, file) cannot be inspected, save a file whose inline data is text. */
const TEXT_PART_TYPES = new Set(["text", "refusal"]);

/**
 * Every field of a chat request that carries content: message text parts and refusals (tool and
 * function results included), `name`s, tool-call and function-call arguments and names sent back as
 * history, and the tools' and functions' names, descriptions and parameter-schema descriptions (at
 * any depth), plus the response format's schema descriptions, and `prediction` (Predicted Outputs:
 * text the model is given to reuse, so it reaches the model like a message), `metadata` values (kept
 * upstream with a stored completion), `stop` sequences, and a file part's name and inline text.
 */
export function chatContents(request: ChatCompletionRequest): ContentField[] {
  const fields: ContentField[] = [];
  request.messages.forEach((message, index) => messageContents(message, pointer("messages", index), { fields, origin: originOf(message.role) }));
  const app: Collect = { fields, origin: undefined };
  toolContents(request.tools, pointer("tools"), app);
  toolContents(request.functions, pointer("functions"), app);
  predictionContents((request as { readonly prediction?: unknown }).prediction, { fields, origin: "document" });
  for (const found of metadataContents((request as { readonly metadata?: unknown }).metadata)) add(app, "text", found.text, found.path);
  // Stop sequences are the caller's text, sent to the model service like the prompt.
  const stop = (request as { readonly stop?: unknown }).stop;
  if (isContent(stop)) add(app, "text", stop, pointer("stop"));
  else if (Array.isArray(stop)) stop.forEach((sequence: unknown, index) => isContent(sequence) && add(app, "text", sequence, pointer("stop", index)));
  if (isRecord(request.response_format)) {
    for (const found of describingTexts(request.response_format, pointer("response_format"))) if (isContent(found.text)) add(app, "text", found.text, found.path);
  }
  return fields;
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
      }
    });
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

/** Tools (`tools[i].function`, or a custom tool's own block) and legacy `functions[i]`. */
function toolContents(tools: unknown, at: string, collect: Collect): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, index) => {
    if (!isRecord(tool)) return;
    const toolAt = appendPointer(at, index);
    for (const found of describingTexts(tool, toolAt)) if (isContent(found.text)) add(collect, "text", found.text, found.path);
    if (isContent(tool.name)) add(collect, "identifier", tool.name, appendPointer(toolAt, "name"));
    for (const kind of ["function", "custom"]) {
      const block = tool[kind];
      if (isRecord(block) && isContent(block.name)) add(collect, "identifier", block.name, appendPointer(toolAt, kind, "name"));
    }
  });
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
