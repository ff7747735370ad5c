import { type EntityType, type Redactor, StreamingInspector, countByType, scan } from "../../dlp/index.js";
import { type ProjectPolicy } from "../../policy/schema.js";
import { scanOptionsFor } from "./scanOptionsFor.js";

export type FindingCounts = Partial<Record<EntityType, number>>;

/** One output text that arrives in pieces (a choice's content, a tool call's arguments). */
export interface OutputChannel {
  /** The text that can be released now; the rest is held back (bounded) until it cannot start a finding. */
  push(piece: string): string;
  /** The channel is over: what was held back. */
  end(): string;
}

/** Characters a streamed channel gathers between two scans. */
const STREAM_SCAN_CHARS = 16;

const NO_CHANNEL: OutputChannel = { push: (piece) => piece, end: () => "" };

/**
 * The project's output DLP for one answer, over every field an operation hands it: whole texts and
 * streamed channels. Redacts with the prompt's redactor (the same value gets the same placeholder in
 * both directions), counts findings, and under `block` remembers that the answer must not be sent.
 */
export class OutputScanner {
  readonly action: ProjectPolicy["dlp"]["output"];
  #blocked = false;
  #redactions = 0;
  readonly #counts: Record<string, number> = {};
  readonly #channels: StreamingInspector[] = [];

  constructor(
    private readonly dlp: ProjectPolicy["dlp"],
    private readonly redactor: Redactor,
  ) {
    this.action = dlp.output;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  /** A whole text: redacted under `redact`; unchanged under `allow`, and under `block` (which then marks the answer blocked). */
  text(value: string): string {
    if (this.action === "allow" || value === "") return value;
    const findings = scan(value, scanOptionsFor(this.dlp));
    if (findings.length === 0) return value;
    for (const [type, count] of Object.entries(countByType(findings))) this.#counts[type] = (this.#counts[type] ?? 0) + (count ?? 0);
    if (this.action === "block") {
      this.#blocked = true;
      return value;
    }
    this.#redactions += findings.length;
    return this.redactor.redact(value, findings).text;
  }

  /** A streamed text with the same bounded hold-back as content. */
  channel(): OutputChannel {
    if (this.action === "allow") return NO_CHANNEL;
    // One scan per 16 characters rather than per delta (about 4 characters a token): the same output, two to
    // three times less CPU per streamed answer (docs/dlp.md "Streaming").
    const inspector = new StreamingInspector({ ...scanOptionsFor(this.dlp), action: this.action, minScanChars: STREAM_SCAN_CHARS }, this.redactor);
    this.#channels.push(inspector);
    return {
      push: (piece) => (piece === "" ? "" : release(inspector.push(piece), () => (this.#blocked = true))),
      end: () => release(inspector.end(), () => (this.#blocked = true)),
    };
  }

  /** Findings by type, whole texts and channels together. */
  counts(): FindingCounts {
    const counts: Record<string, number> = { ...this.#counts };
    for (const channel of this.#channels) for (const [type, count] of Object.entries(channel.counts)) counts[type] = (counts[type] ?? 0) + (count ?? 0);
    return counts;
  }

  /** Redactions made in whole texts (streamed ones are not counted: the header went out first). */
  get redactions(): number {
    return this.#redactions;
  }
}

function release(verdict: { release: string; blocked: boolean }, onBlocked: () => void): string {
  if (verdict.blocked) {
    onBlocked();
    return "";
  }
  return verdict.release;
}
