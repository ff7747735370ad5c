import { type CompletionChunk, type CompletionUsage } from "../../../upstream/CompletionProvider.js";
import { type StreamSession } from "../../pipeline/Operation.js";
import { type OutputChannel, type OutputScanner } from "../../pipeline/OutputScanner.js";
import { sseFrame } from "../../pipeline/sseFrame.js";
import { inspectChoice } from "./inspectChoice.js";
import { ANSWER_FIELDS_WITH_RULES, MESSAGE_FIELDS_WITH_RULES } from "./fieldsWithoutRules.js";
import { inspectEveryString } from "../../pipeline/inspectEveryString.js";
import { isRecord } from "../../../isRecord.js";

type Delta = Record<string, unknown>;
/** Channel keys of delta fields without a rule of their own (`other:reasoning_content`). */
const OTHER_FIELD = "other:";
interface ToolCallDelta {
  readonly index: number;
  readonly function?: { readonly arguments?: unknown; readonly [key: string]: unknown };
  /** A custom tool's call: free-form `input` in place of `function.arguments`. */
  readonly custom?: { readonly input?: unknown; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Where a tool call delta carries its arguments: `function.arguments`, or a custom tool's `custom.input`. */
type ArgumentsAt = readonly ["function", "arguments"] | readonly ["custom", "input"];

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
 * The output channels of one choice: content, refusal, and each tool call's (or the legacy function call's) arguments.
 * Token log probabilities spell the text token by token, ahead of the hold-back: they are kept until the
 * choice ends and released only for a text that went out unchanged (a redacted text's are withheld, null).
 */
class ChoiceChannels {
  readonly channels = new Map<string, OutputChannel>();
  /** Per tool call index, where its arguments go (function or custom) when the held-back rest is released. */
  readonly argumentsAt = new Map<number, ArgumentsAt>();
  /** Per channel, from the first log probabilities on: what came in and what went out (compared when the choice ends). */
  readonly #unchanged = new Map<string, { received: string; released: string }>();
  /** Channels that carried text before any log probabilities: not compared, so theirs are withheld. */
  readonly #untracked = new Set<string>();
  #logprobs: { content: unknown[]; refusal: unknown[] } | null = null;
  constructor(private readonly scanner: OutputScanner) {}

  push(key: string, piece: string): string {
    let channel = this.channels.get(key);
    if (!channel) {
      channel = this.scanner.channel();
      this.channels.set(key, channel);
    }
    const released = channel.push(piece);
    // Only a choice with log probabilities needs its text kept twice; most streams never ask for them.
    if (this.#logprobs === null) {
      if (piece !== "") this.#untracked.add(key);
      return released;
    }
    const text = this.#unchanged.get(key) ?? { received: "", released: "" };
    text.received += piece;
    text.released += released;
    this.#unchanged.set(key, text);
    return released;
  }

  /** Keeps a chunk's log probabilities until the choice ends. */
  holdLogprobs(logprobs: unknown): void {
    if (!isRecord(logprobs)) return;
    this.#logprobs ??= { content: [], refusal: [] };
    for (const field of ["content", "refusal"] as const) {
      const entries = logprobs[field];
      if (Array.isArray(entries)) this.#logprobs[field].push(...(entries as unknown[]));
    }
  }

  /** Ends every channel; what each held back, by channel key, and the log probabilities that may go out. */
  end(): { rest: Map<string, string>; logprobs: Record<string, unknown> | null } {
    const rest = new Map<string, string>();
    for (const [key, channel] of this.channels) {
      const held = channel.end();
      rest.set(key, held);
      const text = this.#unchanged.get(key);
      if (text) text.released += held;
    }
    this.channels.clear();
    const changed = (key: string): boolean => {
      const text = this.#unchanged.get(key);
      return this.#untracked.has(key) || (text !== undefined && text.received !== text.released);
    };
    const held = this.#logprobs;
    const logprobs = held === null ? null : { content: changed("content") ? null : held.content, refusal: changed("refusal") ? null : held.refusal };
    return { rest, logprobs };
  }
}

/**
 * A streamed chat completion, inspected as it flows. Each choice's content, refusal, every tool
 * call's arguments (which arrive in fragments across chunks) and any other text field of the delta
 * (`reasoning_content`) is its own channel with the bounded hold-back of content; a choice's held-back text is released in the chunk that carries its
 * `finish_reason`, so the stream stays what OpenAI's SDK stream helpers accumulate. Values that come
 * whole (a delta's `context`, a chunk's top-level `search_results`) are inspected whole.
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
      const choice = this.withWholeMessage(upstreamChoice);
      this.remember(choice.delta);
      const finishing = choice.finish_reason !== null && choice.finish_reason !== undefined;
      this.channelsOf(choice.index).holdLogprobs(choice.logprobs);
      const delta = this.inspectDelta(choice.index, choice.delta ?? {});
      if (!finishing) return "logprobs" in choice ? { ...choice, delta, logprobs: null } : { ...choice, delta };
      const released = this.release(choice.index, delta);
      return { ...choice, delta: released.delta, ...(released.logprobs !== null || "logprobs" in choice ? { logprobs: released.logprobs } : {}) };
    });
    if (this.scanner.blocked) return [];
    return [sseFrame({ ...inspected, choices })];
  }

  finish(): readonly string[] {
    const frames: string[] = [];
    for (const index of [...this.#choices.keys()]) {
      const { delta, logprobs } = this.release(index, {});
      if (Object.keys(delta).length > 0 || logprobs !== null) {
        frames.push(sseFrame({ ...(this.#template ?? {}), choices: [{ index, delta, ...(logprobs === null ? {} : { logprobs }), finish_reason: null }], usage: null }));
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
  private withWholeMessage<C extends Readonly<Record<string, unknown>>>(choice: C): C {
    const message = choice.message;
    if (!isRecord(message)) return choice;
    return { ...choice, message: inspectChoice({ message }, this.scanner).message };
  }

  private channelsOf(index: number): ChoiceChannels {
    let channels = this.#choices.get(index);
    if (!channels) {
      channels = new ChoiceChannels(this.scanner);
      this.#choices.set(index, channels);
    }
    return channels;
  }

  private inspectDelta(index: number, delta: Delta): Delta {
    const out: Delta = { ...delta };
    const channels = this.channelsOf(index);
    for (const field of ["content", "refusal"] as const) {
      const piece = delta[field];
      if (typeof piece === "string" && piece !== "") out[field] = channels.push(field, piece);
    }
    if (Array.isArray(delta.tool_calls)) {
      out.tool_calls = (delta.tool_calls as unknown[]).map((call) => {
        const args = isToolCallDelta(call) ? argumentsOf(call) : null;
        if (!isToolCallDelta(call) || args === null || args.text === "") return call;
        channels.argumentsAt.set(call.index, args.at);
        return withArguments(call, args.at, channels.push(`tool:${call.index}`, args.text));
      });
    }
    const functionCall = delta.function_call as { arguments?: unknown } | undefined;
    if (typeof functionCall?.arguments === "string" && functionCall.arguments !== "") {
      out.function_call = { ...functionCall, arguments: channels.push("function_call", functionCall.arguments) };
    }
    for (const [field, value] of Object.entries(delta)) {
      if (MESSAGE_FIELDS_WITH_RULES.has(field) || value === null) continue;
      // A text streamed in a field without a rule (`reasoning_content`): its own held-back channel, like content.
      // A value that comes whole (Azure On Your Data's `context`, in the first delta): inspected whole.
      if (typeof value === "string") out[field] = value === "" ? value : channels.push(`${OTHER_FIELD}${field}`, value);
      else out[field] = inspectEveryString(value, (text) => this.scanner.text(text));
    }
    return out;
  }

  /** Adds to `delta` what the choice's channels still hold back, each in its own field, and its log probabilities; the choice is over. */
  private release(index: number, delta: Delta): { delta: Delta; logprobs: Record<string, unknown> | null } {
    const channels = this.#choices.get(index);
    if (!channels) return { delta, logprobs: null };
    this.#choices.delete(index);
    const out: Delta = { ...delta };
    const ended = channels.end();
    for (const [key, rest] of ended.rest) {
      if (rest === "") continue;
      if (key === "content" || key === "refusal") out[key] = `${typeof out[key] === "string" ? out[key] : ""}${rest}`;
      else if (key.startsWith(OTHER_FIELD)) {
        const field = key.slice(OTHER_FIELD.length);
        out[field] = `${typeof out[field] === "string" ? out[field] : ""}${rest}`;
      } else if (key === "function_call") {
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
    return { delta: out, logprobs: ended.logprobs };
  }

  private remember(delta: Delta | undefined): void {
    if (!delta) return;
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
