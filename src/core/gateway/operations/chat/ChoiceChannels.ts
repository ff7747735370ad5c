import { isRecord } from "../../../isRecord.js";
import { type OutputChannel, type OutputScanner } from "../../pipeline/OutputScanner.js";
import { withheldLogprobs } from "./inspectChoice.js";

/** Where a tool call delta carries its arguments: `function.arguments`, or a custom tool's `custom.input`. */
export type ArgumentsAt = readonly ["function", "arguments"] | readonly ["custom", "input"];

/**
 * The output channels of one streamed choice: content, refusal, each tool call's (or the legacy
 * function call's) arguments, and each other text field of the delta or the choice, by key.
 * Token log probabilities spell the text token by token, ahead of the hold-back (and some servers'
 * cover the reasoning too): they are kept until the choice ends and released only when every text of
 * the choice went out unchanged; after any redaction every field of them is withheld (null).
 */
export class ChoiceChannels {
  readonly #channels = new Map<string, OutputChannel>();
  /** Per tool call index, where its arguments go (function or custom) when the held-back rest is released. */
  readonly argumentsAt = new Map<number, ArgumentsAt>();
  /** Per channel, from the first log probabilities on: what came in and what went out (compared when the choice ends). */
  readonly #unchanged = new Map<string, { received: string; released: string }>();
  /** A channel carried text before any log probabilities (not compared), or a value inspected whole changed. */
  #changed = false;
  /** The log probabilities received so far: lists appended chunk after chunk, any other value the last one that is not null. */
  #logprobs: Record<string, unknown> | null = null;

  constructor(private readonly scanner: OutputScanner) {}

  push(key: string, piece: string): string {
    let channel = this.#channels.get(key);
    if (!channel) {
      channel = this.scanner.channel();
      this.#channels.set(key, channel);
    }
    const released = channel.push(piece);
    // Only a choice with log probabilities needs its text kept twice; most streams never ask for them.
    if (this.#logprobs === null) {
      if (piece !== "") this.#changed = true;
      return released;
    }
    const text = this.#unchanged.get(key) ?? { received: "", released: "" };
    text.received += piece;
    text.released += released;
    this.#unchanged.set(key, text);
    return released;
  }

  /** A value of the choice inspected whole: noted when the inspection changed it (its logprobs are then withheld). */
  inspected<T>(before: T, after: T): T {
    if (after !== before) this.#changed = true;
    return after;
  }

  /** Keeps a chunk's log probabilities until the choice ends. */
  holdLogprobs(logprobs: unknown): void {
    if (!isRecord(logprobs)) return;
    const held = (this.#logprobs ??= {});
    for (const [field, value] of Object.entries(logprobs)) {
      const before = held[field];
      if (value === null && before !== undefined) continue;
      // A held list is this session's own copy: appended in place, so a long stream costs its length, not its square.
      if (Array.isArray(value) && Array.isArray(before)) before.push(...(value as unknown[]));
      else held[field] = Array.isArray(value) ? [...(value as unknown[])] : value;
    }
  }

  /** Ends every channel; what each held back, by channel key, and the log probabilities that may go out (null: none came). */
  end(): { rest: Map<string, string>; logprobs: Record<string, unknown> | null } {
    const rest = new Map<string, string>();
    for (const [key, channel] of this.#channels) {
      const held = channel.end();
      rest.set(key, held);
      const text = this.#unchanged.get(key);
      if (text) text.released += held;
    }
    this.#channels.clear();
    const held = this.#logprobs;
    if (held === null) return { rest, logprobs: null };
    const changed = this.#changed || [...this.#unchanged.values()].some((text) => text.received !== text.released);
    return { rest, logprobs: changed ? (withheldLogprobs(held) as Record<string, unknown>) : held };
  }
}
