import { type DataClass } from "../policy/schema.js";
import { type ContentSafetyPolicy } from "./contentSafetyPolicy.js";
import { ContentSafetyFailedClosed, ContentSafetyScreen, type SafetyTexts } from "./ContentSafetyScreen.js";
import { StreamingSafetyScreen } from "./StreamingSafetyScreen.js";
import { type SafetyCheckGroup, type SafetyVerdict, NOT_SCREENED } from "./SafetyVerdict.js";
import { contentFiltered, contentSafetyUnavailable } from "./safetyErrors.js";

/** What the stage needs of a project. */
export interface SafetyProject {
  readonly contentSafety?: ContentSafetyPolicy | undefined;
}

/** How a request's screening went, for telemetry: one short word, never content. */
export function safetyOutcomeOf(verdict: SafetyVerdict | undefined): string | undefined {
  if (!verdict) return undefined;
  if (verdict.action !== "allow") return verdict.action;
  return verdict.failedOpen.length > 0 ? "failed_open" : "allow";
}

/**
 * The pipeline's content-safety stage (between inspect and limit, and again on the output):
 * screens by the project's policy and turns the verdict into the decision. A block throws a
 * ContentFilteredError (400 `content_filter`); a check that cannot run throws a 503 when the
 * project fails closed; otherwise the verdict is returned to be recorded (flag, failed open).
 * With no service configured, every check counts as unavailable.
 */
export class ContentSafetyStage {
  constructor(private readonly screen: ContentSafetyScreen | null) {}

  /** Whether this request is screened at all (cheap: no call when it is not). */
  applies(project: SafetyProject, dataClass: DataClass): boolean {
    return ContentSafetyScreen.applies(project.contentSafety, dataClass);
  }

  async screenInput(project: SafetyProject, dataClass: DataClass, texts: SafetyTexts, abortSignal?: AbortSignal): Promise<SafetyVerdict> {
    const policy = project.contentSafety;
    if (!ContentSafetyScreen.applies(policy, dataClass)) return NOT_SCREENED;
    const verdict = await this.guard(policy, () => this.screen?.screenInput(policy, texts, abortSignal));
    if (verdict.action === "block") throw contentFiltered(verdict, "prompt");
    return verdict;
  }

  /** Screens a whole answer's text when the project asks for output screening. */
  async screenOutput(project: SafetyProject, dataClass: DataClass, text: string): Promise<SafetyVerdict> {
    const policy = project.contentSafety;
    if (!ContentSafetyScreen.applies(policy, dataClass) || !policy.output) return NOT_SCREENED;
    const verdict = await this.guard(policy, () => this.screen?.screenOutput(policy, text), "categories");
    if (verdict.action === "block") throw contentFiltered(verdict, "completion");
    return verdict;
  }

  /** A window-by-window screen for a streamed answer; null when the project does not screen output. */
  streamScreen<Chunk>(project: SafetyProject, dataClass: DataClass, textOf: (chunk: Chunk) => string): StreamingSafetyScreen<Chunk> | null {
    const policy = project.contentSafety;
    if (!ContentSafetyScreen.applies(policy, dataClass) || !policy.output) return null;
    if (!this.screen) return policy.onUnavailable.categories === "fail_open" ? null : new StreamingSafetyScreen(unavailableScreen, policy, textOf);
    return new StreamingSafetyScreen(this.screen, policy, textOf);
  }

  private async guard(policy: ContentSafetyPolicy, run: () => Promise<SafetyVerdict> | undefined, only?: "categories"): Promise<SafetyVerdict> {
    try {
      const verdict = await run();
      if (verdict) return verdict;
    } catch (error) {
      if (error instanceof ContentSafetyFailedClosed) throw contentSafetyUnavailable(error.check);
      throw error;
    }
    // No service configured: the policy's failure modes decide, as when it is down.
    const analyses = Object.values(policy.categories).some((rule) => rule !== undefined) || policy.blocklists !== undefined;
    const checks: SafetyCheckGroup[] = only ? [only] : [...(policy.shields.enabled ? (["shields"] as const) : []), ...(analyses ? (["categories"] as const) : [])];
    const closed = checks.find((check) => policy.onUnavailable[check] === "fail_closed");
    if (closed) throw contentSafetyUnavailable(closed);
    return { ...NOT_SCREENED, failedOpen: checks };
  }
}

/** Stands in for the screen when no service is configured: every window is unavailable. */
const unavailableScreen: Pick<ContentSafetyScreen, "screenOutput"> = {
  screenOutput: () => Promise.reject(new Error("content safety is not configured")),
};
