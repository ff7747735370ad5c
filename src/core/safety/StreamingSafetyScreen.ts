import { type ContentSafetyPolicy } from "./contentSafetyPolicy.js";
import { type ContentSafetyScreen } from "./ContentSafetyScreen.js";
import { type SafetyVerdict, NOT_SCREENED, mergeVerdicts } from "./SafetyVerdict.js";

/** Released text kept as context for the next window, so a harm split across two windows is seen whole. */
const CONTEXT_CHARS = 200;
/** Chunks without text (role, tool-call names) still count, so held chunks stay bounded. */
const MAX_HELD_CHUNKS = 512;

export interface StreamStep<Chunk> {
  /** Chunks cleared to send, in order. */
  readonly release: readonly Chunk[];
  /** The output was blocked (or could not be screened and the project fails closed): send nothing more. */
  readonly stopped: "blocked" | "unavailable" | null;
}

/**
 * Screens a streamed answer in bounded windows: chunks are held until their text reaches the window
 * size (or the stream ends), the window is analysed, and only then are its chunks released. So
 * nothing blocked reaches the client, and at most one window (plus its chunks) is held.
 */
export class StreamingSafetyScreen<Chunk> {
  private held: Chunk[] = [];
  private heldText = "";
  private context = "";
  private verdict: SafetyVerdict = NOT_SCREENED;
  private stopped: StreamStep<Chunk>["stopped"] = null;

  constructor(
    private readonly screen: Pick<ContentSafetyScreen, "screenOutput">,
    private readonly policy: ContentSafetyPolicy,
    private readonly textOf: (chunk: Chunk) => string,
  ) {}

  async push(chunk: Chunk): Promise<StreamStep<Chunk>> {
    if (this.stopped) return { release: [], stopped: this.stopped };
    this.held.push(chunk);
    this.heldText += this.textOf(chunk);
    if (this.heldText.length < this.policy.outputWindowChars && this.held.length < MAX_HELD_CHUNKS) return { release: [], stopped: null };
    return this.screenWindow();
  }

  /** The stream is over: screens and releases what is still held. */
  async finish(): Promise<StreamStep<Chunk>> {
    if (this.stopped) return { release: [], stopped: this.stopped };
    return this.screenWindow();
  }

  result(): SafetyVerdict {
    return this.verdict;
  }

  private async screenWindow(): Promise<StreamStep<Chunk>> {
    const chunks = this.held;
    const text = this.heldText;
    this.held = [];
    this.heldText = "";
    if (text.trim() !== "") {
      let verdict: SafetyVerdict;
      try {
        verdict = await this.screen.screenOutput(this.policy, this.context + text);
      } catch {
        this.stopped = "unavailable";
        return { release: [], stopped: this.stopped };
      }
      this.verdict = mergeVerdicts(this.verdict, verdict);
      if (verdict.action === "block") {
        this.stopped = "blocked";
        return { release: [], stopped: this.stopped };
      }
      this.context = (this.context + text).slice(-CONTEXT_CHARS);
    }
    return { release: chunks, stopped: null };
  }
}
