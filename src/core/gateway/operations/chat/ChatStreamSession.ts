import { type CompletionChunk, type CompletionUsage } from "../../../upstream/CompletionProvider.js";
import { type StreamSession } from "../../pipeline/Operation.js";
import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { sseFrame } from "../../pipeline/sseFrame.js";
import { inspectChoice } from "./inspectChoice.js";
import { type ArgumentsAt, ChoiceChannels } from "./ChoiceChannels.js";
import { ANSWER_FIELDS_WITH_RULES, CHOICE_METADATA, MESSAGE_FIELDS_WITH_RULES } from "./fieldsWithoutRules.js";
import { inspectEveryString } from "../../pipeline/inspectEveryString.js";
import { isRecord } from "../../../isRecord.js";

type Delta = Record<string, unknown>;
/** Channel keys of delta fields without a rule of their own (`other:reasoning_content`). */
const OTHER_FIELD = "other:";
/** Channel keys of a choice's text fields beside its delta (`choice:text`, Together's copy of the content). */
const CHOICE_FIELD = "choice:";
interface ToolCallDelta {
  readonly index: number;
  readonly function?: { readonly arguments?: unknown; readonly [key: string]: unknown };
  /** A custom tool's call: free-form `input` in place of `function.arguments`. */
  readonly custom?: { readonly input?: unknown; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}


function argumentsOf(call: ToolCallDelta): { readonly at: ArgumentsAt; readonly text: string } | null {
  if (typeof call.function?.arguments === "string") return { at: ["function", "arguments"], text: call.function.arguments };
  if (typeof call.custom?.input === "string") return { at: ["custom", "input"], text: call.custom.input };
  return null;
}

const withArguments = (call: ToolCallDelta, at: ArgumentsAt, text: string): ToolCallDelta => {
  const [block, field] = at;
  const existing = call[block];
  return { ...call, [block]: { ...(isRecord(existing) ? existing : {}), [field]: text } };
};

const isToolCallDelta = (value: unknown): value is ToolCallDelta => typeof value === "object" && value !== null && typeof (value as { index?: unknown }).index === "number";

/**
 * A streamed chat completion, inspected as it flows. Each choice's content, refusal, every tool
 * call's arguments (which arrive in fragments across chunks), any other text field of the delta
 * (`reasoning_content`) and any text field of the choice beside it (`stop_reason`, Together's `text`)
 * is its own channel with the bounded hold-back of content; a choice's held-back text is released in
 * the chunk that carries its `finish_reason`, so the stream stays what OpenAI's SDK stream helpers
 * accumulate. Values that come whole (a delta's `context`, content as a list of parts, a chunk's
 * top-level `search_results`) are inspected whole.
 */
export class ChatStreamSession implements StreamSession {
  readonly #choices = new Map<number, ChoiceChannels>();
  readonly #received: string[] = [];
  #usage: CompletionUsage | null = null;
  #template: CompletionChunk | null = null;
  /** Per top-level field without a rule: the last value received (as JSON) and what went out for it. */
  readonly #answerFields = new Map<string, { readonly json: string; readonly inspected: unknown }>();

  constructor(
    private readonly scanner: OutputScanner,
    private readonly wantsUsage: boolean,
  ) {}

  push(event: unknown): readonly string[] {
    const chunk = event as CompletionChunk;
    if (chunk.usage) this.#usage = usageOf(chunk.usage);
    // The usage-only chunk is sent by closingFrames, when the caller asked for it (upstream input: no choices is none).
    const upstreamChoices = (chunk.choices as CompletionChunk["choices"] | undefined) ?? [];
    // Azure OpenAI's prompt annotations (`prompt_filter_results`) come in a chunk of their own, before any choice: passed on.
    if (upstreamChoices.length === 0) return chunk.prompt_filter_results === undefined ? [] : [sseFrame({ ...this.withAnswerFieldsInspected(chunk), usage: undefined })];
    if (this.scanner.action === "allow") {
      this.#template ??= { ...chunk, choices: [] };
      for (const choice of upstreamChoices) this.remember(choice.delta);
      return [sseFrame(chunk)];
    }
    // The template repeats the first chunk's fields in the frames Palisade writes itself (the usage chunk): inspected ones.
    const inspected = this.withAnswerFieldsInspected(chunk);
    this.#template ??= { ...inspected, choices: [] };
    const choices = upstreamChoices.map((upstreamChoice) => {
      const channels = this.channelsOf(upstreamChoice.index);
      channels.holdLogprobs(upstreamChoice.logprobs);
      const choice = this.withWholeMessage(upstreamChoice, channels);
      this.remember(choice.delta);
      const finishing = choice.finish_reason !== null && choice.finish_reason !== undefined;
      const delta = this.inspectDelta(channels, choice.delta ?? {});
      const fields = this.inspectChoiceFields(channels, choice);
      if (!finishing) return "logprobs" in choice ? { ...fields, delta, logprobs: null } : { ...fields, delta };
      const released = this.release(choice.index, { ...fields, delta });
      return { ...released.choice, ...(released.logprobs !== null || "logprobs" in choice ? { logprobs: released.logprobs } : {}) };
    });
    if (this.scanner.blocked) return [];
    return [sseFrame({ ...inspected, choices })];
  }

  finish(): readonly string[] {
    const frames: string[] = [];
    for (const index of [...this.#choices.keys()]) {
      const { choice, logprobs } = this.release(index, { index, delta: {} });
      const held = Object.keys(choice).some((field) => field !== "index" && field !== "delta") || Object.keys(choice.delta as Delta).length > 0;
      if (held || logprobs !== null) {
        frames.push(sseFrame({ ...(this.#template ?? {}), choices: [{ ...choice, ...(logprobs === null ? {} : { logprobs }), finish_reason: null }], usage: null }));
      }
    }
    return this.scanner.blocked ? [] : frames;
  }

  usage(): CompletionUsage | null {
    return this.#usage;
  }

  receivedTexts(): readonly string[] {
    return this.#received;
  }

  closingFrames(): readonly string[] {
    const frames: string[] = [];
    const usage = this.#usage;
    if (this.wantsUsage && usage) {
      const { promptTokens, completionTokens, cachedPromptTokens } = usage;
      frames.push(sseFrame({ ...(this.#template ?? {}), choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, prompt_tokens_details: { cached_tokens: cachedPromptTokens } } }));
    }
    frames.push("data: [DONE]\n\n");
    return frames;
  }

  errorFrame(error: { readonly message: string; readonly type: string; readonly code: string }): string {
    return sseFrame({ error: { message: error.message, type: error.type, code: error.code, param: null } });
  }

  /**
   * The chunk with its top-level fields beside the choices inspected (Perplexity's `citations` and
   * `search_results`). Such a field repeats the same value in every chunk: inspected once (its
   * findings counted once), the result reused while the value stays the same.
   */
  private withAnswerFieldsInspected(chunk: CompletionChunk): CompletionChunk {
    if (this.scanner.action === "allow") return chunk;
    let out: Record<string, unknown> | null = null;
    for (const field of Object.keys(chunk)) {
      const value = chunk[field];
      if (ANSWER_FIELDS_WITH_RULES.has(field) || value === null || value === undefined) continue;
      const json = JSON.stringify(value);
      let seen = this.#answerFields.get(field);
      if (seen?.json !== json) {
        seen = { json, inspected: inspectEveryString(value, (text) => this.scanner.text(text)) };
        this.#answerFields.set(field, seen);
      }
      if (seen.inspected !== value) (out ??= { ...chunk })[field] = seen.inspected;
    }
    return (out ?? chunk) as CompletionChunk;
  }

  /**
   * A chunk's choice that carries a whole `message` beside (or instead of) its delta: some
   * OpenAI-compatible servers send one. Inspected whole, as a plain answer's (a raw reader sees it).
   */
  private withWholeMessage<C extends Readonly<Record<string, unknown>>>(choice: C, channels: ChoiceChannels): C {
    const message = choice.message;
    if (!isRecord(message)) return choice;
    return { ...choice, message: channels.inspected(message, inspectChoice({ message }, this.scanner).message) };
  }

  private channelsOf(index: number): ChoiceChannels {
    let channels = this.#choices.get(index);
    if (!channels) {
      channels = new ChoiceChannels(this.scanner);
      this.#choices.set(index, channels);
    }
    return channels;
  }

  /** Every string of a value that comes whole (a delta's `context`, content as a list of parts): inspected whole. */
  private whole<T>(channels: ChoiceChannels, value: T): T {
    return channels.inspected(value, inspectEveryString(value, (text) => this.scanner.text(text)));
  }

  private inspectDelta(channels: ChoiceChannels, delta: Delta): Delta {
    const out: Delta = { ...delta };
    for (const field of ["content", "refusal"] as const) {
      const piece = delta[field];
      if (typeof piece === "string") out[field] = piece === "" ? piece : channels.push(field, piece);
      // Content as a list of parts (Mistral's `thinking` and `text` parts): each delta's parts whole.
      else if (piece !== null && piece !== undefined) out[field] = this.whole(channels, piece);
    }
    if (Array.isArray(delta.tool_calls)) {
      out.tool_calls = (delta.tool_calls as unknown[]).map((call) => {
        const args = isToolCallDelta(call) ? argumentsOf(call) : null;
        // A call's name, and arguments that are not a string (an object, from some servers): inspected whole.
        if (!isToolCallDelta(call) || args === null || args.text === "") return this.whole(channels, call);
        channels.argumentsAt.set(call.index, args.at);
        return withArguments(this.whole(channels, withArguments(call, args.at, "")), args.at, channels.push(`tool:${call.index}`, args.text));
      });
    }
    if (isRecord(delta.function_call)) {
      const call = delta.function_call;
      const text = typeof call.arguments === "string" ? call.arguments : "";
      const rest = this.whole(channels, text === "" ? call : { ...call, arguments: "" });
      out.function_call = text === "" ? rest : { ...rest, arguments: channels.push("function_call", text) };
    }
    for (const [field, value] of Object.entries(delta)) {
      if (MESSAGE_FIELDS_WITH_RULES.has(field) || value === null) continue;
      // A text streamed in a field without a rule (`reasoning_content`): its own held-back channel, like content.
      // A value that comes whole (Azure On Your Data's `context`, in the first delta): inspected whole.
      if (typeof value === "string") out[field] = value === "" ? value : channels.push(`${OTHER_FIELD}${field}`, value);
      else out[field] = this.whole(channels, value);
    }
    return out;
  }

  /**
   * The choice's fields beside its delta (`stop_reason`, Together's `text`): a string streams through
   * its own held-back channel, like a delta's text; any other value is inspected whole.
   */
  private inspectChoiceFields(channels: ChoiceChannels, choice: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    // Most chunks' choices have only metadata beside the delta: no copy then (a stream's CPU is per chunk).
    let out: Record<string, unknown> | null = null;
    for (const field of Object.keys(choice)) {
      const value = choice[field];
      if (value === null || value === undefined || field === "delta" || field === "message" || CHOICE_METADATA.has(field)) continue;
      if (typeof value === "string") this.#received.push(value);
      (out ??= { ...choice })[field] = typeof value !== "string" ? this.whole(channels, value) : value === "" ? value : channels.push(`${CHOICE_FIELD}${field}`, value);
    }
    return out ?? choice;
  }

  /** Adds to the choice (and its delta) what its channels still hold back, each in its own field, and its log probabilities; the choice is over. */
  private release(index: number, choice: Readonly<Record<string, unknown>> & { readonly delta: Delta }): { choice: Record<string, unknown>; logprobs: Record<string, unknown> | null } {
    const channels = this.#choices.get(index);
    if (!channels) return { choice, logprobs: null };
    this.#choices.delete(index);
    const out: Delta = { ...choice.delta };
    const fields: Record<string, unknown> = { ...choice };
    const append = (into: Record<string, unknown>, field: string, rest: string): void => {
      into[field] = `${typeof into[field] === "string" ? into[field] : ""}${rest}`;
    };
    const ended = channels.end();
    for (const [key, rest] of ended.rest) {
      if (rest === "") continue;
      if (key === "content" || key === "refusal") append(out, key, rest);
      else if (key.startsWith(OTHER_FIELD)) append(out, key.slice(OTHER_FIELD.length), rest);
      else if (key.startsWith(CHOICE_FIELD)) append(fields, key.slice(CHOICE_FIELD.length), rest);
      else if (key === "function_call") {
        const call = (out.function_call ?? {}) as { arguments?: unknown };
        out.function_call = { ...call, arguments: `${typeof call.arguments === "string" ? call.arguments : ""}${rest}` };
      } else {
        const toolIndex = Number(key.slice("tool:".length));
        const calls = Array.isArray(out.tool_calls) ? [...(out.tool_calls as unknown[])] : [];
        const at = calls.findIndex((call) => isToolCallDelta(call) && call.index === toolIndex);
        const existing = at >= 0 ? (calls[at] as ToolCallDelta) : { index: toolIndex };
        const where = channels.argumentsAt.get(toolIndex) ?? (["function", "arguments"] as const);
        const merged = withArguments(existing, where, (argumentsOf(existing)?.text ?? "") + rest);
        if (at >= 0) calls[at] = merged;
        else calls.push(merged);
        out.tool_calls = calls;
      }
    }
    return { choice: { ...fields, delta: out }, logprobs: ended.logprobs };
  }

  /** The texts a choice's delta brought, for the output estimate of an abandoned stream (its own fields' are noted as they are inspected). */
  private remember(delta: unknown): void {
    if (!isRecord(delta)) return;
    if (typeof delta.content === "string") this.#received.push(delta.content);
    if (typeof delta.refusal === "string") this.#received.push(delta.refusal);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as unknown[]) {
        const args = isToolCallDelta(call) ? argumentsOf(call) : null;
        if (args !== null) this.#received.push(args.text);
      }
    }
    for (const [field, value] of Object.entries(delta)) if (typeof value === "string" && !MESSAGE_FIELDS_WITH_RULES.has(field)) this.#received.push(value);
  }
}

function usageOf(usage: NonNullable<CompletionChunk["usage"]>): CompletionUsage {
  return { promptTokens: usage.prompt_tokens ?? 0, cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 };
}
