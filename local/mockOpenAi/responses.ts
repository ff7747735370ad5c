import { randomUUID } from "node:crypto";

/**
 * The Responses API, as much as a mock upstream needs: `instructions`, `input` as a string or items
 * (messages, function_call, function_call_output), plain and streamed answers with typed events, a
 * function call when a directive asks for one, and `store` / `previous_response_id` kept per mock.
 */

/** `[[mock-call:NAME ARGUMENTS]]`: answer with a function call to NAME whose arguments are the rest, verbatim (commas and all). */
const FUNCTION_CALL_DIRECTIVE = /\[\[mock-call:([\w.-]+)\s([\s\S]*?)\]\]/;

export interface MockFunctionCall {
  readonly name: string;
  readonly arguments: string;
}

export function functionCallDirectiveIn(prompt: string): MockFunctionCall | null {
  const match = FUNCTION_CALL_DIRECTIVE.exec(prompt);
  return match ? { name: match[1] ?? "", arguments: match[2] ?? "" } : null;
}

interface StoredResponse {
  readonly texts: readonly string[];
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
  readonly reply: string;
  readonly functionCall: MockFunctionCall | null;
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number };
  readonly body: Readonly<Record<string, unknown>>;
}

export type MockResponsesOutcome =
  | { readonly kind: "ok"; readonly plan: MockResponsesPlan }
  | { readonly kind: "error"; readonly status: number; readonly code: string; readonly message: string; readonly param: string };

/** Decides the answer (text or function call) and applies store / previous_response_id. */
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
  const functionCall = functionCallDirectiveIn(texts.all.join("\n"));
  const reply = options.echo ? texts.lastUser : `This is a mock response from ${options.name} (${options.region}).`;
  const id = `resp_${randomUUID().replaceAll("-", "")}`;
  const outputText = functionCall ? functionCall.arguments : reply;
  const usage = { input_tokens: roughTokens(prompt), output_tokens: roughTokens(outputText) };
  if (body.store !== false) options.stored.set(id, { texts: [...history, ...texts.all, outputText] });
  return { kind: "ok", plan: { id, model, reply, functionCall, usage, body } };
}

const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  type: "message",
  id: `msg_${id}`,
  status,
  role: "assistant",
  content: status === "completed" ? [{ type: "output_text", text, annotations: [] }] : [],
});

const functionCallItem = (id: string, call: MockFunctionCall, status: "in_progress" | "completed") => ({
  type: "function_call",
  id: `fc_${id}`,
  call_id: `call_${id}`,
  name: call.name,
  arguments: status === "completed" ? call.arguments : "",
  status,
});

/** The Response object, in progress (no output yet) or completed. */
export function responseObject(plan: MockResponsesPlan, createdAt: number, status: "in_progress" | "completed"): Record<string, unknown> {
  const suffix = plan.id.slice(5);
  const output = status === "completed" ? [plan.functionCall ? functionCallItem(suffix, plan.functionCall, "completed") : messageItem(suffix, plan.reply, "completed")] : [];
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
  const suffix = plan.id.slice(5);
  yield event("response.created", { response: responseObject(plan, createdAt, "in_progress") });
  yield event("response.in_progress", { response: responseObject(plan, createdAt, "in_progress") });
  if (plan.functionCall) {
    const call = plan.functionCall;
    const itemId = `fc_${suffix}`;
    yield event("response.output_item.added", { output_index: 0, item: functionCallItem(suffix, call, "in_progress") });
    for (const piece of piecesOf(call.arguments)) yield event("response.function_call_arguments.delta", { item_id: itemId, output_index: 0, delta: piece });
    yield event("response.function_call_arguments.done", { item_id: itemId, output_index: 0, name: call.name, arguments: call.arguments });
    yield event("response.output_item.done", { output_index: 0, item: functionCallItem(suffix, call, "completed") });
  } else {
    const itemId = `msg_${suffix}`;
    const part = { type: "output_text", text: "", annotations: [] };
    yield event("response.output_item.added", { output_index: 0, item: messageItem(suffix, plan.reply, "in_progress") });
    yield event("response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part });
    for (const piece of plan.reply.match(/\S+\s*/g) ?? [plan.reply]) {
      yield event("response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] });
    }
    yield event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text: plan.reply, logprobs: [] });
    yield event("response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part: { ...part, text: plan.reply } });
    yield event("response.output_item.done", { output_index: 0, item: messageItem(suffix, plan.reply, "completed") });
  }
  yield event("response.completed", { response: responseObject(plan, createdAt, "completed") });
}

/** Function-call arguments arrive in small fragments, as the API sends them, so consumers must reassemble them. */
function piecesOf(text: string): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += 5) pieces.push(text.slice(index, index + 5));
  return pieces.length > 0 ? pieces : [""];
}
