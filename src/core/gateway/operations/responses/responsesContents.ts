import { type ContentField, type ContentOrigin } from "../../pipeline/Operation.js";
import { appendPointer, describingTexts, pointer } from "../../pipeline/jsonPointer.js";
import { metadataContents } from "../../pipeline/metadataContents.js";
import { type ResponsesRequest } from "./responsesRequest.js";
import { isRecord } from "../../../isRecord.js";
import { type InlineText, checkMediaPart, inlineFileText } from "../../pipeline/inlineParts.js";

/**
 * Content part types whose text DLP reads (`text`). Every other part (images, audio, files that are
 * not text, types Palisade does not know) cannot be read: `uninspectableResponsesParts` counts it.
 */
const TEXT_PARTS: Readonly<Record<string, string>> = { input_text: "text", output_text: "text", text: "text", summary_text: "text", reasoning_text: "text", refusal: "refusal" };

type Collect = (path: string, value: unknown, inline?: InlineText) => void;

/**
 * Every field of a Responses request that carries content: `instructions`; the input (a string, or
 * items: message text parts and refusals, function and custom tool call arguments and names, their
 * outputs, reasoning summaries); the tools' names, descriptions and parameter-schema descriptions;
 * the text format's schema descriptions, and `metadata` values. Each field says who wrote it (`ContentField.origin`), so
 * content safety sends the user's words as the user prompt and tool outputs as documents.
 */
export function responsesContents(request: ResponsesRequest): ContentField[] {
  const fields: ContentField[] = [];
  const collector = (kind: ContentField["kind"], origin: ContentOrigin): Collect => (path, value, inline) => {
    if (inline !== undefined) {
      if (inline.text !== "") fields.push({ path, text: inline.text, kind, origin: "document", encode: inline.encode });
    } else if (typeof value === "string" && value !== "") fields.push({ path, text: value, kind, origin });
  };
  // `instructions` is the app's system prompt, like chat's system and developer messages.
  collector("text", "app")(pointer("instructions"), request.instructions);
  if (typeof request.input === "string") collector("text", "user")(pointer("input"), request.input);
  else request.input.forEach((item, index) => itemContents(item, pointer("input", index), (origin) => collector("text", origin), (origin) => collector("identifier", origin)));
  const text = collector("text", "app");
  request.tools?.forEach((tool, index) => {
    const at = pointer("tools", index);
    for (const found of describingTexts(tool, at)) text(found.path, found.text);
    collector("identifier", "app")(appendPointer(at, "name"), tool.name);
  });
  if (isRecord(request.text)) for (const found of describingTexts(request.text, pointer("text"))) text(found.path, found.text);
  promptVariableContents((request as { readonly prompt?: unknown }).prompt, collector("text", "user"));
  // Kept upstream with a stored Response, and shown in the provider's dashboards.
  for (const found of metadataContents((request as { readonly metadata?: unknown }).metadata)) text(found.path, found.text);
  return fields;
}

type CollectFrom = (origin: ContentOrigin) => Collect;

/**
 * A reusable prompt's variables (`prompt.variables`), filled into the stored prompt upstream: text
 * the caller sends to the model like a message (a string, or an input part).
 */
function promptVariableContents(prompt: unknown, text: Collect): void {
  if (!isRecord(prompt) || !isRecord(prompt.variables)) return;
  const at = pointer("prompt", "variables");
  for (const [name, value] of Object.entries(prompt.variables)) {
    if (typeof value === "string") text(appendPointer(at, name), value);
    else partsContents([value], appendPointer(at, name), (path, part, inline) => text(path.replace(/\/0(?=\/[^/]+$)/, ""), part, inline));
  }
}

const MESSAGE_ORIGIN: ReadonlyMap<string, ContentOrigin> = new Map([
  ["user", "user"],
  ["system", "app"],
  ["developer", "app"],
  ["assistant", "model"],
]);
/** Items the model produced (sent back as history): its calls and reasoning. */
const MODEL_ITEMS = new Set(["function_call", "custom_tool_call", "reasoning"]);

/**
 * Who wrote an input item: a message by its role; the model's own calls and reasoning; and anything
 * else that carries text (tool outputs, items of types Palisade does not know) is third-party content,
 * screened as a document.
 */
function itemOrigin(item: Record<string, unknown>): ContentOrigin {
  if (typeof item.type === "string" && MODEL_ITEMS.has(item.type)) return "model";
  if ((item.type === undefined || item.type === "message") && typeof item.role === "string") return MESSAGE_ORIGIN.get(item.role) ?? "document";
  return "document";
}

function itemContents(item: Record<string, unknown>, at: string, textFrom: CollectFrom, identifierFrom: CollectFrom): void {
  const origin = itemOrigin(item);
  const text = textFrom(origin);
  const identifier = identifierFrom(origin);
  partsContents(item.content, appendPointer(at, "content"), text);
  switch (item.type) {
    case "function_call":
      text(appendPointer(at, "arguments"), item.arguments);
      identifier(appendPointer(at, "name"), item.name);
      break;
    case "custom_tool_call":
      text(appendPointer(at, "input"), item.input);
      identifier(appendPointer(at, "name"), item.name);
      break;
    case "function_call_output":
    case "custom_tool_call_output":
      partsContents(item.output, appendPointer(at, "output"), text);
      break;
    case "reasoning":
      partsContents(item.summary, appendPointer(at, "summary"), text);
      break;
    default:
      // Other tools' outputs (local shell, MCP, ...) are text from outside too.
      if (typeof item.type === "string" && (item.type.endsWith("_output") || item.type === "mcp_call")) partsContents(item.output, appendPointer(at, "output"), text);
      break;
  }
}

/** A string, or a list of parts (text parts read, others left to `uninspectableResponsesParts`). */
function partsContents(value: unknown, at: string, text: Collect): void {
  if (typeof value === "string") {
    text(at, value);
    return;
  }
  if (!Array.isArray(value)) return;
  value.forEach((part: unknown, index) => {
    if (!isRecord(part) || typeof part.type !== "string") return;
    const field = Object.hasOwn(TEXT_PARTS, part.type) ? TEXT_PARTS[part.type] : undefined;
    if (field !== undefined) text(appendPointer(at, index, field), part[field]);
    else if (part.type === "input_file") {
      text(appendPointer(at, index, "filename"), part.filename);
      const inline = inlineFileText(part.file_data);
      if (inline !== null) text(appendPointer(at, index, "file_data"), part.file_data, inline);
    }
  });
}

/** Parts DLP cannot read, in messages and in tool outputs: images, audio, files that are not text, unknown part types. */
export function uninspectableResponsesParts(request: ResponsesRequest): number {
  let count = 0;
  const countParts = (value: unknown): void => {
    if (!Array.isArray(value)) return;
    for (const part of value) {
      if (!isRecord(part) || (typeof part.type === "string" && Object.hasOwn(TEXT_PARTS, part.type))) continue;
      if (part.type === "input_file" && inlineFileText(part.file_data) !== null) continue;
      count += 1;
    }
  };
  const prompt = (request as { readonly prompt?: unknown }).prompt;
  if (isRecord(prompt) && isRecord(prompt.variables)) countParts(Object.values(prompt.variables).filter((value) => typeof value !== "string"));
  if (typeof request.input === "string") return count;
  for (const item of request.input) {
    countParts(item.content);
    countParts(item.output);
    countParts(item.summary);
  }
  return count;
}

/** Refuses (400) an `input_image` or `input_audio` part whose inline data is not an image or audio. */
export function checkResponsesMediaParts(request: ResponsesRequest): void {
  if (typeof request.input === "string") return;
  request.input.forEach((item, itemIndex) => {
    for (const key of ["content", "output"] as const) {
      const parts: unknown = item[key];
      if (!Array.isArray(parts)) continue;
      parts.forEach((part: unknown, index) => {
        if (!isRecord(part)) return;
        const at = `input[${itemIndex}].${key}[${index}]`;
        if (part.type === "input_image") checkMediaPart("image", part.image_url, `${at}.image_url`);
        else if (part.type === "input_audio") {
          const audio = isRecord(part.input_audio) ? part.input_audio.data : part.data;
          checkMediaPart("audio", audio, `${at}.input_audio.data`);
        }
      });
    }
  });
}
