import { type ContentField, type ContentOrigin } from "../../pipeline/Operation.js";
import { appendPointer, describingTexts, pointer } from "../../pipeline/jsonPointer.js";
import { type ChatCompletionRequest, type ChatMessage } from "./chatRequest.js";

/** Content parts DLP can read; every other part type (image_url, input_audio, file) cannot be inspected. */
const TEXT_PART_TYPES = new Set(["text", "refusal"]);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Every field of a chat request that carries content: message text parts and refusals (tool and
 * function results included), `name`s, tool-call and function-call arguments and names sent back as
 * history, and the tools' and functions' names, descriptions and parameter-schema descriptions (at
 * any depth), plus the response format's schema descriptions.
 */
export function chatContents(request: ChatCompletionRequest): ContentField[] {
  const fields: ContentField[] = [];
  const text = (path: string, value: unknown): void => {
    if (typeof value === "string" && value !== "") fields.push({ path, text: value, kind: "text" });
  };
  const identifier = (path: string, value: unknown): void => {
    if (typeof value === "string" && value !== "") fields.push({ path, text: value, kind: "identifier" });
  };
  request.messages.forEach((message, index) => {
    const at = pointer("messages", index);
    const origin = originOf(message.role);
    const from = fields.length;
    messageContents(message, at, text, identifier);
    for (let field = from; field < fields.length; field += 1) {
      const found = fields[field];
      if (found) fields[field] = { ...found, origin };
    }
  });
  toolContents(request.tools, pointer("tools"), text, identifier);
  toolContents(request.functions, pointer("functions"), text, identifier);
  if (isRecord(request.response_format)) {
    for (const found of describingTexts(request.response_format, pointer("response_format"))) text(found.path, found.text);
  }
  return fields;
}

type Collect = (path: string, value: unknown) => void;

/** Tool and function results are third-party content (where injections hide); the user's turns are the user's own words. */
function originOf(role: ChatMessage["role"]): ContentOrigin {
  if (role === "user") return "user";
  if (role === "tool" || role === "function") return "document";
  if (role === "assistant") return "model";
  return "app";
}

function messageContents(message: ChatMessage, at: string, text: Collect, identifier: Collect): void {
  if (typeof message.content === "string") text(appendPointer(at, "content"), message.content);
  else if (Array.isArray(message.content)) {
    message.content.forEach((part, index) => {
      if (part.type === "text") text(appendPointer(at, "content", index, "text"), part.text);
      else if (part.type === "refusal") text(appendPointer(at, "content", index, "refusal"), (part as Record<string, unknown>).refusal);
    });
  }
  text(appendPointer(at, "refusal"), message.refusal);
  identifier(appendPointer(at, "name"), message.name);
  message.tool_calls?.forEach((call, index) => {
    text(appendPointer(at, "tool_calls", index, "function", "arguments"), call.function.arguments);
    identifier(appendPointer(at, "tool_calls", index, "function", "name"), call.function.name);
  });
  if (isRecord(message.function_call)) {
    text(appendPointer(at, "function_call", "arguments"), message.function_call.arguments);
    identifier(appendPointer(at, "function_call", "name"), message.function_call.name);
  }
}

/** Tools (`tools[i].function`, or a custom tool's own block) and legacy `functions[i]`. */
function toolContents(tools: unknown, at: string, text: Collect, identifier: Collect): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, index) => {
    if (!isRecord(tool)) return;
    const toolAt = appendPointer(at, index);
    for (const found of describingTexts(tool, toolAt)) text(found.path, found.text);
    identifier(appendPointer(toolAt, "name"), tool.name);
    for (const kind of ["function", "custom"]) {
      const block = tool[kind];
      if (isRecord(block)) identifier(appendPointer(toolAt, kind, "name"), block.name);
    }
  });
}

/** Parts DLP cannot read (images, audio, files). */
export function uninspectableChatParts(request: ChatCompletionRequest): number {
  let count = 0;
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (!TEXT_PART_TYPES.has(part.type)) count += 1;
  }
  return count;
}
