import { type PalisadeError, isPalisadeError } from "../errors.js";
import { type DataClass } from "../policy/schema.js";
import { type ContentSafetyStage, type SafetyProject, safetyOutcomeOf } from "./ContentSafetyStage.js";
import { type StreamingSafetyScreen } from "./StreamingSafetyScreen.js";
import { type SafetyVerdict } from "./SafetyVerdict.js";
import { safetyAuditDetails } from "./safetyAudit.js";
import { contentFiltered, contentSafetyUnavailable } from "./safetyErrors.js";
import { StreamedOutputTexts, outputTextOf } from "./outputTexts.js";
import { isRecord } from "../isRecord.js";

type Details = Record<string, string | number | boolean | null>;

const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

/** The upstream's own filter stopped this answer (Azure: `finish_reason: "content_filter"`; Responses: `incomplete_details.reason`). */
export function upstreamFilteredOutput(body: unknown): boolean {
  if (!isRecord(body)) return false;
  if (records(body.choices).some((choice) => choice.finish_reason === "content_filter")) return true;
  const response = isRecord(body.response) ? body.response : body;
  return isRecord(response.incomplete_details) && response.incomplete_details.reason === "content_filter";
}

export interface OutputSafetyResult {
  /** The refusal to record and send instead of the answer; null when it may go out. */
  readonly failure: PalisadeError | null;
  /** What the outcome event records (flags, fail-open passes, the upstream's own filter). */
  readonly details: Details;
  readonly outcome: string | undefined;
}

function detailsOf(verdict: SafetyVerdict | null, upstreamFiltered: boolean): Details {
  const details: Details = verdict && (verdict.action !== "allow" || verdict.failedOpen.length > 0) ? safetyAuditDetails(verdict, "palisade", "completion") : {};
  if (upstreamFiltered) Object.assign(details, { upstreamFiltered: "completion", safetySource: details.safetySource ?? "upstream" });
  return details;
}

/** Content safety on a whole answer (as it would be sent), when the project screens output. */
export async function screenPlainAnswer(stage: ContentSafetyStage | undefined, project: SafetyProject, dataClass: DataClass, body: unknown): Promise<OutputSafetyResult> {
  const upstreamFiltered = upstreamFilteredOutput(body);
  if (!stage) return { failure: null, details: detailsOf(null, upstreamFiltered), outcome: undefined };
  try {
    const verdict = await stage.screenOutput(project, dataClass, outputTextOf(body));
    return { failure: null, details: detailsOf(verdict, upstreamFiltered), outcome: safetyOutcomeOf(verdict) };
  } catch (error) {
    if (!isPalisadeError(error)) throw error;
    return { failure: error, details: detailsOf(null, upstreamFiltered), outcome: error.code === "content_filter" ? "block" : "unavailable" };
  }
}

interface HeldEvent {
  readonly frames: readonly string[];
  readonly text: string;
}

/**
 * Holds a stream's frames until content safety has screened the text they carry, window by window
 * (StreamingSafetyScreen): nothing blocked reaches the caller. Without output screening it passes
 * frames straight through and only watches for the upstream's own filter.
 */
export class StreamOutputGate {
  private readonly screen: StreamingSafetyScreen<HeldEvent> | null;
  private stopped: "blocked" | "unavailable" | null = null;
  private upstreamFiltered = false;
  private readonly texts = new StreamedOutputTexts();

  constructor(stage: ContentSafetyStage | undefined, project: SafetyProject, dataClass: DataClass) {
    this.screen = stage?.streamScreen<HeldEvent>(project, dataClass, (held) => held.text) ?? null;
  }

  /** The frames of one upstream event, released once screened; [] while held, or for good once stopped. */
  async push(event: unknown, frames: readonly string[]): Promise<readonly string[]> {
    if (upstreamFilteredOutput(event)) this.upstreamFiltered = true;
    if (!this.screen) return frames;
    if (this.stopped) return [];
    const step = await this.screen.push({ frames, text: this.texts.textOf(event) });
    this.stopped = step.stopped;
    return step.release.flatMap((held) => held.frames);
  }

  /** The stream is over: frames still held (the last window screened), then the session's own tail. */
  async finish(tail: readonly string[]): Promise<readonly string[]> {
    if (!this.screen) return tail;
    if (this.stopped) return [];
    const held = await this.screen.push({ frames: tail, text: "" });
    this.stopped = held.stopped;
    if (this.stopped) return [];
    const end = await this.screen.finish();
    this.stopped = end.stopped;
    return this.stopped ? [] : [...held.release, ...end.release].flatMap((item) => item.frames);
  }

  get blocked(): boolean {
    return this.stopped !== null;
  }

  /** Why the stream was stopped, as the error to end it with; null when it was not. */
  failure(): PalisadeError | null {
    if (this.stopped === "blocked" && this.screen) return contentFiltered(this.screen.result(), "completion");
    if (this.stopped === "unavailable") return contentSafetyUnavailable("categories");
    return null;
  }

  result(): OutputSafetyResult {
    const verdict = this.screen?.result() ?? null;
    return { failure: this.failure(), details: detailsOf(verdict, this.upstreamFiltered), outcome: this.screen ? (this.stopped === "blocked" ? "block" : safetyOutcomeOf(verdict ?? undefined)) : undefined };
  }
}
