import { type AuditEventType } from "../audit/AuditEvent.js";
import { type SafetyVerdict, isPromptAttack } from "./SafetyVerdict.js";

export type FilterSource = "palisade" | "upstream";
export type FilterPlace = "prompt" | "completion";

type Details = Record<string, string | number | boolean | null>;

/** The audit type of a content-safety decision: a shield finding is a prompt attack; categories and blocklists are filtered content. */
export const safetyEventType = (verdict: Pick<SafetyVerdict, "findings">): AuditEventType => (isPromptAttack(verdict) ? "prompt_attack_detected" : "content_filtered");

/**
 * What an audit event records of a verdict: where and who decided, the action, which shields fired,
 * category severities, blocklist names, and whether a check failed open. Names and numbers, never text.
 */
export function safetyAuditDetails(verdict: SafetyVerdict, source: FilterSource, place: FilterPlace): Details {
  const details: Details = {};
  const attacks = verdict.findings.filter((finding) => finding.check === "prompt_shield");
  const blocklists = verdict.findings.filter((finding) => finding.check === "blocklist").map((finding) => finding.name);
  if (verdict.findings.length > 0) {
    details.safetySource = source;
    details.safetyPlace = place;
    details.safetyAction = verdict.action;
  }
  if (attacks.length > 0) {
    details.promptAttack = [...new Set(attacks.map((finding) => finding.name))].sort().join(",");
    details.documentAttacks = attacks.filter((finding) => finding.name === "document").length;
  }
  const filtered = verdict.findings.filter((finding) => finding.check === "harm_category").map((finding) => finding.name);
  if (filtered.length > 0) details.safetyCategories = [...new Set(filtered)].sort().join(",");
  for (const [category, severity] of Object.entries(verdict.severities)) if (severity !== undefined && severity > 0) details[`severity.${category}`] = severity;
  if (blocklists.length > 0) details.safetyBlocklists = [...new Set(blocklists)].sort().join(",");
  if (verdict.failedOpen.length > 0) details.safetyFailedOpen = [...verdict.failedOpen].sort().join(",");
  if (verdict.truncated) details.safetyTruncated = true;
  return details;
}
