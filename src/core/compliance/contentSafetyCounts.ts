import { type AuditEvent } from "../audit/AuditEvent.js";
import { type Counts } from "./ComplianceSummary.js";

/** The day's content-safety decisions: what was refused or flagged, by whom (Palisade or the upstream's filter), and what passed unscreened. */
export interface ContentSafetyCounts {
  /** Requests refused as prompt attacks (user-prompt jailbreaks, injections in documents). */
  readonly promptAttacksBlocked: number;
  /** Requests or answers refused for harm categories or blocklists. */
  readonly contentFiltered: number;
  /** Requests that went through with a finding recorded (the project's action is flag). */
  readonly flagged: number;
  /** Refusals by who decided: `palisade` or `upstream` (Azure OpenAI's own filter). */
  readonly bySource: Readonly<Counts>;
  /** Refusals and flags by category or shield name. */
  readonly byCategory: Readonly<Counts>;
  /** Requests passed unscreened because content safety was down and the project fails open. */
  readonly failedOpen: number;
  /** Requests refused (503) because content safety was down and the project fails closed. */
  readonly unavailable: number;
}

const text = (event: AuditEvent, key: string): string | null => {
  const value = event.details?.[key];
  return typeof value === "string" ? value : null;
};

export function countContentSafety(events: readonly AuditEvent[]): ContentSafetyCounts {
  let promptAttacksBlocked = 0;
  let contentFiltered = 0;
  let flagged = 0;
  let failedOpen = 0;
  let unavailable = 0;
  const bySource: Counts = {};
  const byCategory: Counts = {};
  const bump = (counts: Counts, key: string): void => void (counts[key] = (counts[key] ?? 0) + 1);
  for (const event of events) {
    if (event.type === "prompt_attack_detected") promptAttacksBlocked += 1;
    if (event.type === "content_filtered") contentFiltered += 1;
    if (event.reason === "content_safety_unavailable") unavailable += 1;
    if (text(event, "safetyFailedOpen") !== null) failedOpen += 1;
    const action = text(event, "safetyAction");
    if (action === null) continue;
    if (action === "flag") flagged += 1;
    const source = text(event, "safetySource");
    if (source !== null && action === "block") bump(bySource, source);
    for (const key of ["promptAttack", "safetyCategories", "safetyBlocklists", "upstreamFiltered"]) {
      for (const name of text(event, key)?.split(",") ?? []) if (name !== "") bump(byCategory, key === "promptAttack" ? `prompt_attack:${name}` : name);
    }
  }
  const sorted = (counts: Counts): Counts => Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { promptAttacksBlocked, contentFiltered, flagged, bySource: sorted(bySource), byCategory: sorted(byCategory), failedOpen, unavailable };
}
