import { type HarmCategory } from "./ContentSafety.js";
import { type SafetyAction } from "./contentSafetyPolicy.js";

/** Which check found something: the same verdict shape serves shields, categories and blocklists. */
export type SafetyCheck = "prompt_shield" | "harm_category" | "blocklist";

export interface SafetyFinding {
  readonly check: SafetyCheck;
  /** `user_prompt` or `document` (shields), the category (Hate, Sexual, Violence, SelfHarm), or the blocklist name. */
  readonly name: string;
  /** Categories only: the severity the service gave. */
  readonly severity?: number;
  /** Documents only: which document (0-based, in the order sent). */
  readonly documentIndex?: number;
  readonly action: SafetyAction;
}

export type SafetyCheckGroup = "shields" | "categories";

/** The outcome of screening one text set. Names, severities and counts only: never text. */
export interface SafetyVerdict {
  /** `allow` when nothing reached a threshold, else the strongest action among the findings. */
  readonly action: "allow" | SafetyAction;
  /** Findings at or above their thresholds. */
  readonly findings: readonly SafetyFinding[];
  /** Every analysed category's severity, including those below the threshold. */
  readonly severities: Readonly<Partial<Record<HarmCategory, number>>>;
  /** Checks that could not run and were passed because the project fails open (recorded on the request). */
  readonly failedOpen: readonly SafetyCheckGroup[];
  /** Checks answered from the HMAC-keyed cache. */
  readonly cached: readonly SafetyCheckGroup[];
  /** Some text was longer than the service accepts and was screened in part (head and tail). */
  readonly truncated: boolean;
}

export const NOT_SCREENED: SafetyVerdict = { action: "allow", findings: [], severities: {}, failedOpen: [], cached: [], truncated: false };

export function actionOf(findings: readonly SafetyFinding[]): SafetyVerdict["action"] {
  if (findings.some((finding) => finding.action === "block")) return "block";
  return findings.length > 0 ? "flag" : "allow";
}

/** Folds the verdicts of a stream's windows (or of two checks) into one. */
export function mergeVerdicts(a: SafetyVerdict, b: SafetyVerdict): SafetyVerdict {
  const severities: Partial<Record<HarmCategory, number>> = { ...a.severities };
  for (const [category, severity] of Object.entries(b.severities) as [HarmCategory, number][]) severities[category] = Math.max(severities[category] ?? 0, severity);
  const findings = [...a.findings, ...b.findings];
  return {
    action: actionOf(findings),
    findings,
    severities,
    failedOpen: [...new Set([...a.failedOpen, ...b.failedOpen])],
    cached: [...new Set([...a.cached, ...b.cached])],
    truncated: a.truncated || b.truncated,
  };
}

/** True when a blocking finding came from Prompt Shields (the refusal is a prompt attack, not a harm category). */
export const isPromptAttack = (verdict: Pick<SafetyVerdict, "findings">): boolean => verdict.findings.some((finding) => finding.check === "prompt_shield");

/** How a refusal names what was found: "prompt attack in a document", "Violence (severity 6)"; never text. */
export function describeFindings(findings: readonly SafetyFinding[]): string {
  const names = findings.map((finding) => {
    if (finding.check === "prompt_shield") return finding.name === "document" ? "prompt attack in a document" : "prompt attack in the user prompt";
    if (finding.check === "blocklist") return `blocklist ${finding.name}`;
    return `${finding.name} (severity ${finding.severity ?? 0})`;
  });
  return [...new Set(names)].join(", ");
}
