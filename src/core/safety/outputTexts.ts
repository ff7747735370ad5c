import { ANSWER_FIELDS_WITH_RULES, CHOICE_METADATA } from "../gateway/operations/chat/fieldsWithoutRules.js";
import { ITEM_FIELDS_WITH_RULES, RESPONSE_FIELDS_WITH_RULES } from "../gateway/operations/responses/responseFieldsWithoutRules.js";
import { inspectEveryString } from "../gateway/pipeline/inspectEveryString.js";
import { isRecord } from "../isRecord.js";

/**
 * The output text of an answer that content safety screens, whatever the operation: chat choices
 * (every string of a message or delta but its role: content and refusal as text or as parts, tool and
 * function calls, `reasoning_content`, Azure On Your Data's `context`; and of a choice's fields beside
 * them, such as vLLM's `stop_reason`, its metadata and logprobs left out), the top-level
 * fields of a chat answer beside its choices (`citations`, `search_results`) and Responses output items (message text and
 * refusals, function and custom tool call arguments, reasoning summaries and text, and every string of
 * an item or part of any other type). What output DLP reads, content safety reads.
 */

const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");
const joined = (texts: readonly string[]): string => texts.filter((text) => text !== "").join("\n");

/** One text of a Responses output item, keyed by where it sits (as the stream's events name it). */
interface PlacedText {
  readonly key: string;
  readonly text: string;
}

const textKey = (outputIndex: number, contentIndex: number, kind: "text" | "refusal"): string => `${outputIndex}/${contentIndex}/${kind}`;
const argumentsKey = (outputIndex: number): string => `${outputIndex}//arguments`;
const summaryKey = (outputIndex: number, summaryIndex: number): string => `${outputIndex}/s${summaryIndex}/summary`;
const otherKey = (outputIndex: number, ordinal: number): string => `${outputIndex}/o${ordinal}/other`;
const indexOr0 = (value: unknown): number => (typeof value === "number" ? value : 0);

/**
 * Every string of a value without a rule of its own, ids and types left out (inspectEveryString's
 * structural fields), and `binary` fields too: base64 pictures or speech are not text to screen.
 */
function everyString(value: unknown, into: string[], binary: readonly string[] = []): void {
  const read = isRecord(value) && binary.some((field) => field in value) ? Object.fromEntries(Object.entries(value).filter(([field]) => !binary.includes(field))) : value;
  inspectEveryString(read, (text) => {
    into.push(text);
    return text;
  });
}

/** Item types with binary fields (an image generation's picture): as output DLP leaves them. */
const BINARY_ITEM_FIELDS: Readonly<Record<string, readonly string[]>> = { image_generation_call: ["result"] };
/** A chat audio answer's speech (base64); its `transcript` is text. */
const AUDIO_BINARY = ["data"] as const;

const MESSAGE_PARTS_WITH_RULES: ReadonlySet<string> = new Set(["output_text", "refusal"]);
const REASONING_PARTS_WITH_RULES: ReadonlySet<string> = new Set(["reasoning_text"]);

/** The texts of one Responses output item. */
function itemTexts(item: Record<string, unknown>, outputIndex: number): PlacedText[] {
  const texts: PlacedText[] = [];
  const others: string[] = [];
  const type = str(item.type);
  const ruled = ITEM_FIELDS_WITH_RULES[type];
  // A hosted tool's call and results (`web_search_call`, `code_interpreter_call`, `mcp_call`, ...) or a type added later: every string.
  if (!ruled) everyString(item, others, BINARY_ITEM_FIELDS[type]);
  else {
    // The fields of a known item without a rule (a provider's own, one added later): every string, as output DLP reads them.
    everyString(Object.fromEntries(Object.entries(item).filter(([field]) => !ruled.has(field))), others);
    const args = type === "function_call" ? item.arguments : type === "custom_tool_call" ? item.input : undefined;
    if (typeof args === "string") texts.push({ key: argumentsKey(outputIndex), text: args });
    else everyString(args, others);
    if (type === "message" || type === "reasoning") {
      const withRules = type === "message" ? MESSAGE_PARTS_WITH_RULES : REASONING_PARTS_WITH_RULES;
      // Content that is not a list of parts (one string): every string of it.
      if (!Array.isArray(item.content)) everyString(item.content, others);
      records(item.content).forEach((part, index) => {
        // A part of a type without a rule: every string, as output DLP reads it.
        if (!withRules.has(str(part.type))) everyString(part, others);
        else {
          if (typeof part.text === "string") texts.push({ key: textKey(outputIndex, index, "text"), text: part.text });
          if (typeof part.refusal === "string") texts.push({ key: textKey(outputIndex, index, "refusal"), text: part.refusal });
          if (Array.isArray(part.annotations)) everyString(part.annotations, others);
        }
      });
    }
    if (type === "reasoning") {
      if (!Array.isArray(item.summary)) everyString(item.summary, others);
      records(item.summary).forEach((part, index) => (part.type === "summary_text" ? texts.push({ key: summaryKey(outputIndex, index), text: str(part.text) }) : everyString(part, others)));
    }
  }
  others.forEach((text, ordinal) => texts.push({ key: otherKey(outputIndex, ordinal), text }));
  return texts;
}

function chatChoiceTexts(body: Record<string, unknown>): string[] {
  const texts: string[] = [];
  for (const choice of records(body.choices)) {
    for (const [field, value] of Object.entries(choice)) {
      if (CHOICE_METADATA.has(field) || value === null) continue;
      if (!((field === "message" || field === "delta") && isRecord(value))) {
        // A field beside the message (`stop_reason`, Together's `text`, one added later): every string.
        everyString(value, texts);
        continue;
      }
      // Every field of the message but its role, whatever its shape (content as a list of parts, arguments as an object); an audio answer's speech is not text.
      for (const [name, part] of Object.entries(value)) if (name !== "role" && part !== null) everyString(part, texts, name === "audio" ? AUDIO_BINARY : []);
    }
  }
  return texts;
}

/**
 * The texts of a chat answer's (or chunk's) top-level fields without a rule, by field. A body is read
 * as chat when it has choices or says it is one: a Response's top level echoes the request instead.
 */
function answerFieldTexts(body: Record<string, unknown>): { readonly field: string; readonly texts: string[] }[] {
  if (!Array.isArray(body.choices) && !str(body.object).startsWith("chat.completion")) return [];
  return fieldTexts(body, ANSWER_FIELDS_WITH_RULES);
}

/** The same for a Response (a plain answer, or the one a stream event carries): its fields beside output, metadata and the request's echo. */
function responseFieldTexts(body: Record<string, unknown>): { readonly field: string; readonly texts: string[] }[] {
  return str(body.object) === "response" || Array.isArray(body.output) ? fieldTexts(body, RESPONSE_FIELDS_WITH_RULES) : [];
}

function fieldTexts(body: Record<string, unknown>, withRules: ReadonlySet<string>): { readonly field: string; readonly texts: string[] }[] {
  const found: { field: string; texts: string[] }[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (withRules.has(field) || value === null) continue;
    const texts: string[] = [];
    everyString(value, texts);
    if (texts.length > 0) found.push({ field, texts });
  }
  return found;
}

/** The output text of a whole (plain) answer. */
export function outputTextOf(body: unknown): string {
  if (!isRecord(body)) return "";
  const texts = chatChoiceTexts(body);
  for (const found of [...answerFieldTexts(body), ...responseFieldTexts(body)]) texts.push(...found.texts);
  records(body.output).forEach((item, index) => texts.push(...itemTexts(item, index).map((placed) => placed.text)));
  // A list of Responses items (a stored Response's input items): each read like an output item.
  if (body.object === "list") records(body.data).filter((item) => typeof item.type === "string").forEach((item, index) => texts.push(...itemTexts(item, index).map((placed) => placed.text)));
  // The SDK's convenience field repeats the message text; read it only if it says something else.
  const outputText = str(body.output_text);
  if (outputText !== "" && !texts.includes(outputText) && outputText !== joined(texts)) texts.push(outputText);
  return joined(texts);
}

/** A streamed text: a delta adds to its key; a whole text repeats (or, if never streamed, first says) its key. */
type StreamedText = PlacedText & { readonly delta: boolean };

/** Responses event types whose text is read by the shapes below (or that carry none); any other type is read whole. */
const KNOWN_RESPONSES_EVENTS = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.output_item.added",
  "response.output_item.done",
  "response.content_part.added",
  "response.content_part.done",
  "response.reasoning_summary_part.added",
  "response.reasoning_summary_part.done",
  "response.completed",
  "response.incomplete",
  "response.failed",
]);

/**
 * A Responses event neither read by the shapes below nor a delta or `.done` of a text (whose text field
 * they read). A type outside `response.` (the API's `error` event, whose message the caller's SDK yields)
 * is one too; a chat chunk has no type.
 */
function isUnknownResponsesEvent(event: Record<string, unknown>): boolean {
  const type = str(event.type);
  if (type === "" || KNOWN_RESPONSES_EVENTS.has(type)) return false;
  if (!type.startsWith("response.")) return true;
  if (type.endsWith(".delta")) return typeof event.delta !== "string";
  if (type.endsWith(".done")) return ![event.text, event.refusal, event.arguments, event.input].some((value) => typeof value === "string");
  return true;
}

/** The texts a Responses stream event carries: deltas, and the whole texts of `.done`, part, item and response events. */
function responsesEventTexts(event: Record<string, unknown>): StreamedText[] {
  const type = str(event.type);
  const outputIndex = indexOr0(event.output_index);
  const contentIndex = indexOr0(event.content_index);
  const keyOfKind = (): string => {
    if (type.includes("arguments") || type.includes("custom_tool_call_input")) return argumentsKey(outputIndex);
    if (type.includes("reasoning_summary")) return summaryKey(outputIndex, indexOr0(event.summary_index));
    return textKey(outputIndex, contentIndex, type.includes("refusal") ? "refusal" : "text");
  };
  if (type.endsWith(".delta")) return [{ key: keyOfKind(), text: str(event.delta), delta: true }];
  if (type.endsWith(".done")) {
    const whole = [event.text, event.refusal, event.arguments, event.input].find((value) => typeof value === "string");
    if (typeof whole === "string") return [{ key: keyOfKind(), text: whole, delta: false }];
  }
  const texts: StreamedText[] = [];
  if (isRecord(event.part)) {
    if (typeof event.part.text === "string") texts.push({ key: type.includes("reasoning_summary") ? summaryKey(outputIndex, indexOr0(event.summary_index)) : textKey(outputIndex, contentIndex, "text"), text: event.part.text, delta: false });
    if (typeof event.part.refusal === "string") texts.push({ key: textKey(outputIndex, contentIndex, "refusal"), text: event.part.refusal, delta: false });
  }
  if (isRecord(event.item)) texts.push(...itemTexts(event.item, outputIndex).map((placed) => ({ ...placed, delta: false })));
  if (isRecord(event.response)) records(event.response.output).forEach((item, index) => texts.push(...itemTexts(item, index).map((placed) => ({ ...placed, delta: false }))));
  return texts;
}

/**
 * The text of each streamed event that has not been screened yet, so that every text a stream can
 * show its caller is screened once: chat deltas; Responses deltas; and the whole texts that Responses
 * events repeat (`.done`, `content_part.done`, `output_item.done`, `response.completed`) whenever they
 * differ from what the deltas added up to — a text that never streamed as deltas is screened whole.
 */
export class StreamedOutputTexts {
  /** What each Responses text added up to so far (deltas, or the last whole text screened). */
  private readonly sofar = new Map<string, string>();

  textOf(event: unknown): string {
    if (!isRecord(event)) return "";
    // Both shapes are read whatever the operation: an event cannot hide text by looking like the other kind.
    const texts = chatChoiceTexts(event);
    // A chunk's top-level field repeats its value in every chunk (Perplexity's `search_results`): screened when it changes.
    const placed = [...answerFieldTexts(event).map((found) => ({ ...found, key: `answer/${found.field}` })), ...(isRecord(event.response) ? responseFieldTexts(event.response) : []).map((found) => ({ ...found, key: `response/${found.field}` }))];
    for (const found of placed) {
      const key = found.key;
      const text = joined(found.texts);
      if (this.sofar.get(key) === text) continue;
      this.sofar.set(key, text);
      texts.push(text);
    }
    if (isUnknownResponsesEvent(event)) {
      // A type Palisade does not know (a newer API feature): every string it carries reaches the caller, so every one is screened.
      inspectEveryString(event, (text) => {
        texts.push(text);
        return text;
      });
      return joined(texts);
    }
    for (const { key, text, delta } of responsesEventTexts(event)) {
      if (text === "") continue;
      if (delta) {
        this.sofar.set(key, (this.sofar.get(key) ?? "") + text);
        texts.push(text);
      } else if (this.sofar.get(key) !== text) {
        this.sofar.set(key, text);
        texts.push(text);
      }
    }
    return joined(texts);
  }
}
