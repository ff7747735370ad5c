import { randomUUID } from "node:crypto";
import { type ScriptedToolCall, scriptedAnswerIn } from "./toolCalls.js";

/**
 * The Responses API, as much as a mock upstream needs: `instructions`, `input` as a string or items
 * (messages, function_call, function_call_output), plain and streamed answers with typed events,
 * scripted output (toolCalls.ts: `[[mock-tool:NAME:ARGS]]` answers with function calls, `[[mock-say:]]`
 * and `[[mock-refuse:]]` with that text or refusal), and `store` / `previous_response_id` kept per mock.
 */

interface StoredResponse {
  readonly texts: readonly string[];
  /** The Response as made (completed, or queued when made with `background: true`), for GET /responses/{id}. */
  readonly plan?: MockResponsesPlan;
  readonly createdAt?: number;
}

/** Responses stored because the caller did not send `store: false`: what `previous_response_id` may name. */
export class StoredResponses {
  private readonly byId = new Map<string, StoredResponse>();
  constructor(private readonly maxKept = 1000) {}

  set(id: string, value: StoredResponse): void {
    this.byId.set(id, value);
    if (this.byId.size > this.maxKept) this.byId.delete(this.byId.keys().next().value ?? "");
  }

  get(id: string): StoredResponse | undefined {
    return this.byId.get(id);
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}

const textOfContent = (content: unknown): string => {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => (typeof part === "object" && part !== null && "text" in part && typeof part.text === "string" ? part.text : ""))
    .filter((text) => text !== "")
    .join(" ");
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Every text the request carries, in order: instructions, then each input item's text. */
export function responsesTextsOf(body: Readonly<Record<string, unknown>>): { all: string[]; lastUser: string } {
  const all: string[] = [];
  let lastUser = "";
  if (typeof body.instructions === "string") all.push(body.instructions);
  if (typeof body.input === "string") {
    all.push(body.input);
    lastUser = body.input;
  } else if (Array.isArray(body.input)) {
    for (const item of body.input as unknown[]) {
      if (!isRecord(item)) continue;
      if (item.type === "function_call") all.push(typeof item.arguments === "string" ? item.arguments : "");
      else if (item.type === "function_call_output") all.push(typeof item.output === "string" ? item.output : textOfContent(item.output));
      else if ("content" in item) {
        const text = textOfContent(item.content);
        all.push(text);
        if (item.role === "user") lastUser = text;
      }
    }
  }
  return { all, lastUser };
}

const roughTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export interface MockResponsesPlan {
  readonly id: string;
  readonly model: string;
  /** The assistant message's text (null: no message item, only function calls). */
  readonly text: string | null;
  readonly refusal: string | null;
  readonly functionCalls: readonly ScriptedToolCall[];
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number };
  readonly body: Readonly<Record<string, unknown>>;
}

export type MockResponsesOutcome =
  | { readonly kind: "ok"; readonly plan: MockResponsesPlan }
  | { readonly kind: "error"; readonly status: number; readonly code: string; readonly message: string; readonly param: string };

/** Decides the answer (text, refusal, function calls) and applies store / previous_response_id. */
export function planMockResponse(body: Readonly<Record<string, unknown>>, model: string, options: { readonly name: string; readonly region: string; readonly echo: boolean; readonly stored: StoredResponses }): MockResponsesOutcome {
  if (body.input === undefined || (typeof body.input !== "string" && !Array.isArray(body.input))) {
    return { kind: "error", status: 400, code: "invalid_request", message: "input must be a string or an array of items", param: "input" };
  }
  const texts = responsesTextsOf(body);
  const previous = typeof body.previous_response_id === "string" ? body.previous_response_id : null;
  const history = previous === null ? [] : options.stored.get(previous)?.texts;
  if (history === undefined) {
    return { kind: "error", status: 400, code: "previous_response_not_found", message: `Previous response with id '${previous ?? ""}' not found.`, param: "previous_response_id" };
  }
  const prompt = [...history, ...texts.all].join("\n");
  const scripted = scriptedAnswerIn(texts.all.join("\n"));
  const reply = options.echo ? texts.lastUser : `This is a mock response from ${options.name} (${options.region}).`;
  const text = scripted ? scripted.content : reply;
  const refusal = scripted?.refusal ?? null;
  const functionCalls = scripted?.toolCalls ?? [];
  const id = `resp_${randomUUID().replaceAll("-", "")}`;
  const outputText = [text ?? "", refusal ?? "", ...functionCalls.map((call) => call.arguments)].join("");
  const usage = { input_tokens: roughTokens(prompt), output_tokens: roughTokens(outputText) };
  const plan: MockResponsesPlan = { id, model, text, refusal, functionCalls, usage, body };
  if (body.store !== false) options.stored.set(id, { texts: [...history, ...texts.all, outputText], plan, createdAt: Math.floor(Date.now() / 1000) });
  return { kind: "ok", plan };
}

const hasMessage = (plan: MockResponsesPlan): boolean => plan.text !== null || plan.refusal !== null;

const messageItem = (plan: MockResponsesPlan, status: "in_progress" | "completed") => ({
  type: "message",
  id: `msg_${plan.id.slice(5)}`,
  status,
  role: "assistant",
  content: status === "completed" ? contentParts(plan, true) : [],
});

function contentParts(plan: MockResponsesPlan, complete: boolean): Record<string, unknown>[] {
  const parts: Record<string, unknown>[] = [];
  if (plan.text !== null) parts.push({ type: "output_text", text: complete ? plan.text : "", annotations: [] });
  if (plan.refusal !== null) parts.push({ type: "refusal", refusal: complete ? plan.refusal : "" });
  return parts;
}

const functionCallItem = (plan: MockResponsesPlan, index: number, status: "in_progress" | "completed") => {
  const call = plan.functionCalls[index] ?? { name: "tool", arguments: "" };
  return { type: "function_call", id: `fc_${index}_${plan.id.slice(5)}`, call_id: `call_${index}_${plan.id.slice(5, 13)}`, name: call.name, arguments: status === "completed" ? call.arguments : "", status };
};

/** The Response object: queued or in progress (no output yet), cancelled, or completed. */
export function responseObject(plan: MockResponsesPlan, createdAt: number, status: "queued" | "in_progress" | "cancelled" | "completed"): Record<string, unknown> {
  const output = status === "completed" ? [...(hasMessage(plan) ? [messageItem(plan, "completed")] : []), ...plan.functionCalls.map((_, index) => functionCallItem(plan, index, "completed"))] : [];
  const { body } = plan;
  return {
    id: plan.id,
    object: "response",
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: plan.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    store: body.store !== false,
    background: body.background === true,
    temperature: body.temperature ?? 1,
    text: { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage:
      status === "completed"
        ? {
            input_tokens: plan.usage.input_tokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: plan.usage.output_tokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: plan.usage.input_tokens + plan.usage.output_tokens,
          }
        : null,
    user: null,
    metadata: body.metadata ?? {},
  };
}

/** The typed events of a streamed response, in the order the API sends them; text deltas word by word. */
export function* responseEvents(plan: MockResponsesPlan, createdAt: number): Generator<{ readonly type: string; readonly [key: string]: unknown }> {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => ({ type, sequence_number: sequence++, ...fields });
  yield event("response.created", { response: responseObject(plan, createdAt, "in_progress") });
  yield event("response.in_progress", { response: responseObject(plan, createdAt, "in_progress") });
  let outputIndex = 0;
  if (hasMessage(plan)) {
    const itemId = `msg_${plan.id.slice(5)}`;
    const at = { item_id: itemId, output_index: outputIndex };
    yield event("response.output_item.added", { output_index: outputIndex, item: messageItem(plan, "in_progress") });
    let contentIndex = 0;
    if (plan.text !== null) {
      const text = plan.text;
      yield event("response.content_part.added", { ...at, content_index: contentIndex, part: { type: "output_text", text: "", annotations: [] } });
      for (const piece of text.match(/\S+\s*/g) ?? [text]) yield event("response.output_text.delta", { ...at, content_index: contentIndex, delta: piece, logprobs: [] });
      yield event("response.output_text.done", { ...at, content_index: contentIndex, text, logprobs: [] });
      yield event("response.content_part.done", { ...at, content_index: contentIndex, part: { type: "output_text", text, annotations: [] } });
      contentIndex += 1;
    }
    if (plan.refusal !== null) {
      const refusal = plan.refusal;
      yield event("response.content_part.added", { ...at, content_index: contentIndex, part: { type: "refusal", refusal: "" } });
      for (const piece of piecesOf(refusal)) yield event("response.refusal.delta", { ...at, content_index: contentIndex, delta: piece });
      yield event("response.refusal.done", { ...at, content_index: contentIndex, refusal });
      yield event("response.content_part.done", { ...at, content_index: contentIndex, part: { type: "refusal", refusal } });
    }
    yield event("response.output_item.done", { output_index: outputIndex, item: messageItem(plan, "completed") });
    outputIndex += 1;
  }
  for (const [index, call] of plan.functionCalls.entries()) {
    const item = functionCallItem(plan, index, "in_progress");
    yield event("response.output_item.added", { output_index: outputIndex, item });
    for (const piece of piecesOf(call.arguments)) yield event("response.function_call_arguments.delta", { item_id: item.id, output_index: outputIndex, delta: piece });
    yield event("response.function_call_arguments.done", { item_id: item.id, output_index: outputIndex, name: call.name, arguments: call.arguments });
    yield event("response.output_item.done", { output_index: outputIndex, item: functionCallItem(plan, index, "completed") });
    outputIndex += 1;
  }
  yield event("response.completed", { response: responseObject(plan, createdAt, "completed") });
}

/** Function-call arguments arrive in small fragments, as the API sends them, so consumers must reassemble them. */
function piecesOf(text: string): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += 5) pieces.push(text.slice(index, index + 5));
  return pieces.length > 0 ? pieces : [""];
}
