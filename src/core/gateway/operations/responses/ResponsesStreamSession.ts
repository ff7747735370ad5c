import { type CompletionUsage } from "../../../upstream/CompletionProvider.js";
import { inspectFieldsWithoutRules } from "../chat/fieldsWithoutRules.js";
import { RESPONSE_FIELDS_WITH_RULES } from "./responseFieldsWithoutRules.js";
import { responseUsageOf } from "../../../upstream/ResponsesProvider.js";
import { type StreamSession } from "../../pipeline/Operation.js";
import { type OutputChannel, type OutputScanner } from "../../pipeline/OutputScanner.js";
import { sseFrame } from "../../pipeline/sseFrame.js";
import { type OutputTextKind, inspectAnnotations, inspectResponseOutput } from "./inspectResponseOutput.js";
import { isRecord } from "../../../isRecord.js";
import { inspectEveryString } from "../../pipeline/inspectEveryString.js";

type Event = Record<string, unknown> & { readonly type: string };

/** The kinds of text streamed by events of their own (`other` strings come whole, in items). */
type StreamedTextKind = Exclude<OutputTextKind, "other">;

/** Where a streamed text sits, and which of its fields the final events carry it in. */
const STREAMED: Readonly<Record<string, { readonly kind: StreamedTextKind; readonly phase: "delta" | "done"; readonly field?: string }>> = {
  "response.output_text.delta": { kind: "text", phase: "delta" },
  "response.output_text.done": { kind: "text", phase: "done" },
  "response.refusal.delta": { kind: "refusal", phase: "delta" },
  "response.refusal.done": { kind: "refusal", phase: "done" },
  "response.function_call_arguments.delta": { kind: "arguments", phase: "delta" },
  "response.function_call_arguments.done": { kind: "arguments", phase: "done" },
  // A custom tool's free-form input: the arguments of its call, in the item's `input`.
  "response.custom_tool_call_input.delta": { kind: "arguments", phase: "delta" },
  "response.custom_tool_call_input.done": { kind: "arguments", phase: "done", field: "input" },
  "response.reasoning_summary_text.delta": { kind: "summary", phase: "delta" },
  "response.reasoning_summary_text.done": { kind: "summary", phase: "done" },
  "response.reasoning_text.delta": { kind: "reasoning", phase: "delta" },
  "response.reasoning_text.done": { kind: "reasoning", phase: "done" },
};
const DONE_FIELD = { text: "text", refusal: "refusal", arguments: "arguments", summary: "text", reasoning: "text" } as const;
const FINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
/** Events that carry no model text (the `response` of `created` echoes the request, its output still empty): passed as they are. */
const TEXT_FREE = new Set(["response.created", "response.in_progress", "response.queued"]);
/**
 * Events that open an item or a part: nearly always empty, but an item may come whole in them (an MCP
 * approval request has no deltas: only `.added` and `.done`), so any text they hold is inspected whole.
 */
const ADDED = new Set(["response.output_item.added", "response.content_part.added", "response.reasoning_summary_part.added"]);

const numberOr = (value: unknown, otherwise: number): number => (typeof value === "number" ? value : otherwise);

/** A frame numbered at or before `startingAfter`: inspected, counted, not sent. */
const SKIPPED = "";

/**
 * A streamed Response, inspected as it flows. Each output text, refusal and function call's arguments
 * is its own channel with the bounded hold-back of chat content; what a channel still holds when its
 * `.done` event arrives goes out as one last delta, and every event that repeats a whole text
 * (`.done`, `content_part.done`, `output_item.done`, `response.completed`) carries the inspected text,
 * so the deltas always add up to it (the SDK's stream helpers accumulate them). Sequence numbers are
 * renumbered, since held-back deltas change the count of events. A stream resumed after event N of
 * Palisade's numbering (`starting_after`) is the same session over the upstream's replay from the start,
 * its frames up to N inspected and dropped: the caller gets the frames it missed, numbered as before.
 */
export class ResponsesStreamSession implements StreamSession {
  readonly #channels = new Map<string, { readonly channel: OutputChannel; released: string }>();
  /** Inspected whole texts, by channel key, once their `.done` event has passed. */
  readonly #finals = new Map<string, string>();
  /** Channels of delta events of types Palisade does not know, with the raw text they added up to. */
  readonly #unknown = new Map<string, { readonly channel: OutputChannel; released: string; raw: string; last: Record<string, unknown> }>();
  readonly #received: string[] = [];
  #usage: CompletionUsage | null = null;
  #sequence = 0;

  /**
   * `onFinal`: the upstream's final Response and its usage, as they came (ResponseHistoryTokens remembers them).
   * `startingAfter`: the last frame the caller already has (null: it has none).
   */
  constructor(
    private readonly scanner: OutputScanner,
    private readonly onFinal?: (response: Record<string, unknown>, usage: CompletionUsage | null) => void,
    private readonly startingAfter: number | null = null,
  ) {}

  push(upstream: unknown): readonly string[] {
    const frames = this.framesOf(upstream);
    return this.startingAfter === null ? frames : frames.filter((frame) => frame !== SKIPPED);
  }

  private framesOf(upstream: unknown): readonly string[] {
    if (!isRecord(upstream) || typeof upstream.type !== "string") return [];
    const event = upstream as Event;
    const streamed = STREAMED[event.type];
    if (streamed) return streamed.phase === "delta" ? this.delta(event, streamed.kind) : this.done(event, streamed.kind, streamed.field ?? DONE_FIELD[streamed.kind]);
    if (event.type === "response.content_part.done" && isRecord(event.part)) {
      const key = keyOf(event, event.part.type === "refusal" ? "refusal" : "text");
      const field = event.part.type === "refusal" ? "refusal" : "text";
      const whole = event.part[field];
      const final = typeof whole === "string" ? this.final(key, whole) : whole;
      // The part repeats its text's token logprobs: given only for a text that went out unchanged.
      const part = final === whole ? event.part : { ...event.part, [field]: final, ...(Array.isArray(event.part.logprobs) ? { logprobs: [] } : {}) };
      const annotations = inspectAnnotations(part, (text) => this.scanner.text(text));
      return [this.frame({ ...event, part: annotations === part.annotations ? part : { ...part, annotations } })];
    }
    if (event.type === "response.reasoning_summary_part.done" && isRecord(event.part) && typeof event.part.text === "string") {
      return [this.frame({ ...event, part: { ...event.part, text: this.final(keyOf(event, "summary"), event.part.text) } })];
    }
    if (event.type === "response.output_item.done" && isRecord(event.item)) {
      return [this.frame({ ...event, item: this.inspectItem(event.item, numberOr(event.output_index, 0)) })];
    }
    if (FINAL.has(event.type) && isRecord(event.response)) {
      this.#usage = responseUsageOf(event.response.usage) ?? this.#usage;
      this.onFinal?.(event.response, this.#usage);
      const output = Array.isArray(event.response.output) ? event.response.output : [];
      const inspected = output.map((item: unknown, index) => (isRecord(item) ? this.inspectItem(item, index) : item));
      return [this.frame({ ...event, response: { ...this.inspectResponseFields(event.response), output: inspected } })];
    }
    if (this.scanner.action === "allow") return [this.frame(event)];
    // The Response a lifecycle event carries has no output yet; a provider's field beside it may have text.
    if (TEXT_FREE.has(event.type)) return [this.frame(isRecord(event.response) ? { ...event, response: this.inspectResponseFields(event.response) } : event)];
    if (ADDED.has(event.type)) return [this.frame(this.added(event))];
    return this.unknown(event);
  }

  /** The Response with its top-level fields without a rule (xAI's `citations`) inspected whole. */
  private inspectResponseFields(response: Record<string, unknown>): Record<string, unknown> {
    if (this.scanner.action === "allow") return response;
    const out: Record<string, unknown> = { ...response };
    inspectFieldsWithoutRules(response, RESPONSE_FIELDS_WITH_RULES, out, (text) => this.scanner.text(text));
    return out;
  }

  /** Unknown delta streams that never saw their `.done`: what their channels still hold goes out as a last delta. */
  finish(): readonly string[] {
    const frames: string[] = [];
    for (const state of this.#unknown.values()) {
      const held = state.channel.end();
      if (held !== "") frames.push(this.frame({ ...state.last, type: String(state.last.type), delta: held }));
    }
    this.#unknown.clear();
    return this.startingAfter === null ? frames : frames.filter((frame) => frame !== SKIPPED);
  }

  usage(): CompletionUsage | null {
    return this.#usage;
  }

  receivedTexts(): readonly string[] {
    return this.#received;
  }

  /** A Responses stream ends with `response.completed`: no end marker. */
  closingFrames(): readonly string[] {
    return [];
  }

  /** The Responses API's `error` event; the `error` object makes OpenAI's SDK raise it as an APIError. */
  errorFrame(error: { readonly message: string; readonly type: string; readonly code: string }): string {
    const body = { message: error.message, type: error.type, code: error.code, param: null };
    return sseFrame({ ...body, type: "error", sequence_number: this.#sequence++, error: body }, "error");
  }

  private delta(event: Event, kind: OutputTextKind): string[] {
    const piece = typeof event.delta === "string" ? event.delta : "";
    this.#received.push(piece);
    const state = this.channel(keyOf(event, kind));
    const released = state.channel.push(piece);
    if (released === "") return [];
    state.released += released;
    // A delta's token logprobs spell text the hold-back may still redact: they go out with the `.done` event, if at all.
    const withheld = this.scanner.action !== "allow" && Array.isArray(event.logprobs) ? { logprobs: [] } : {};
    return [this.frame({ ...event, delta: released, ...withheld })];
  }

  /** Ends the channel: what it held back goes out as a last delta, then the `.done` with the inspected whole text. */
  private done(event: Event, kind: OutputTextKind, field: string): string[] {
    const key = keyOf(event, kind);
    const whole = typeof event[field] === "string" ? event[field] : "";
    const frames: string[] = [];
    let state = this.#channels.get(key);
    // A text that never streamed (no deltas) is inspected whole and sent as one delta, so deltas still add up.
    const neverStreamed = state === undefined && !this.#finals.has(key) && whole !== "";
    if (neverStreamed) {
      this.#received.push(whole);
      state = this.channel(key);
      state.released += state.channel.push(whole);
    }
    if (state) {
      const rest = state.channel.end();
      const sent = neverStreamed ? state.released + rest : rest;
      state.released += rest;
      if (sent !== "") {
        const { [field]: _whole, ...location } = event;
        frames.push(this.frame({ ...location, type: event.type.replace(/\.done$/, ".delta"), delta: sent, ...(kind === "text" ? { logprobs: [] } : {}) }));
      }
      this.#finals.set(key, state.released);
      this.#channels.delete(key);
    }
    const final = this.#finals.get(key) ?? whole;
    // The whole text's token logprobs, only for a text that went out unchanged.
    const logprobs = final !== whole && Array.isArray(event.logprobs) ? { logprobs: [] } : {};
    frames.push(this.frame({ ...event, [field]: final, ...logprobs }));
    return frames;
  }

  /**
   * An event of a type this session does not know (a new API feature) may carry model text: none of
   * it goes out unread. A `.delta` with a string `delta` streams through its own channel (the same
   * bounded hold-back, keyed by type and position); its `.done` releases what the channel held, and
   * every string of it (and of any other unknown event) is inspected, the whole text the deltas
   * added up to given as the channel released it.
   */
  private unknown(event: Event): string[] {
    const suffix = /\.(delta|done)$/.exec(event.type)?.[1];
    const key = `${event.type.replace(/\.(delta|done)$/, "")}|${numberOr(event.output_index, 0)}|${numberOr(event.content_index, 0)}|${numberOr(event.summary_index, 0)}`;
    if (suffix === "delta" && typeof event.delta === "string") {
      this.#received.push(event.delta);
      let state = this.#unknown.get(key);
      // Its other fields are inspected whole; token logprobs would spell held-back text: withheld.
      const { logprobs, ...rest } = event;
      const fields = inspectEveryString({ ...rest, delta: "" }, (text) => this.scanner.text(text));
      const last = { ...fields, ...(logprobs === undefined ? {} : { logprobs: [] }) };
      if (!state) this.#unknown.set(key, (state = { channel: this.scanner.channel(), released: "", raw: "", last }));
      state.last = last;
      state.raw += event.delta;
      const released = state.channel.push(event.delta);
      if (released === "") return [];
      state.released += released;
      return [this.frame({ ...last, type: event.type, delta: released })];
    }
    const state = suffix === "done" ? this.#unknown.get(key) : undefined;
    if (!state) return [this.frame(inspectEveryString(event, (text) => this.scanner.text(text)))];
    this.#unknown.delete(key);
    const frames: string[] = [];
    const held = state.channel.end();
    state.released += held;
    if (held !== "") {
      // Where the event sits (its fields but the whole text), and what the channel still held.
      const location = Object.fromEntries(Object.entries(event).filter(([, value]) => value !== state.raw));
      frames.push(this.frame({ ...inspectEveryString(location, (text) => this.scanner.text(text)), type: event.type.replace(/\.done$/, ".delta"), delta: held }));
    }
    frames.push(this.frame(inspectEveryString(event, (text) => (text === state.raw ? state.released : this.scanner.text(text)))));
    return frames;
  }

  /** An `.added` event with every text of its item or part inspected whole (its deltas and `.done` are inspected as they come). */
  private added(event: Event): Event {
    if (isRecord(event.item)) return { ...event, item: inspectResponseOutput(event.item, (text) => this.scanner.text(text)) };
    if (isRecord(event.part)) {
      const part = inspectEveryString(event.part, (text) => this.scanner.text(text));
      // A part that comes with its text also brings the text's logprobs: withheld if the text was redacted.
      return { ...event, part: part.text !== event.part.text && Array.isArray(part.logprobs) ? { ...part, logprobs: [] } : part };
    }
    return event;
  }

  /** The inspected whole text for a key; a text never seen streaming is inspected now. */
  private final(key: string, whole: string): string {
    const known = this.#finals.get(key);
    if (known !== undefined) return known;
    const inspected = this.scanner.text(whole);
    this.#finals.set(key, inspected);
    return inspected;
  }

  private inspectItem(item: Record<string, unknown>, outputIndex: number): Record<string, unknown> {
    // Strings without a specific rule were not streamed as a text of their own: inspected as they are.
    return inspectResponseOutput(item, (text, kind, partIndex) => (kind === "other" ? this.scanner.text(text) : this.final(`${outputIndex}/${kind === "arguments" ? "" : partIndex}/${kind}`, text)));
  }

  private channel(key: string): { readonly channel: OutputChannel; released: string } {
    let state = this.#channels.get(key);
    if (!state) {
      state = { channel: this.scanner.channel(), released: "" };
      this.#channels.set(key, state);
    }
    return state;
  }

  private frame(event: Event): string {
    const sequence = this.#sequence++;
    if (this.startingAfter !== null && sequence <= this.startingAfter) return SKIPPED;
    return sseFrame({ ...event, sequence_number: sequence }, event.type);
  }
}

/** One channel per output item and content part or reasoning summary part (function call arguments: per output item). */
function keyOf(event: Record<string, unknown>, kind: OutputTextKind): string {
  const outputIndex = numberOr(event.output_index, 0);
  if (kind === "arguments") return `${outputIndex}//arguments`;
  return `${outputIndex}/${numberOr(kind === "summary" ? event.summary_index : event.content_index, 0)}/${kind}`;
}
