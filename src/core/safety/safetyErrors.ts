import { type AuditEventType } from "../audit/AuditEvent.js";
import { PalisadeError } from "../errors.js";
import { type SafetyCheckGroup, type SafetyVerdict, describeFindings } from "./SafetyVerdict.js";
import { type FilterPlace, type FilterSource, safetyAuditDetails, safetyEventType } from "./safetyAudit.js";

/** Azure OpenAI's severity words for the 0-7 scale. */
const severityWord = (severity: number): string => (severity >= 6 ? "high" : severity >= 4 ? "medium" : severity >= 2 ? "low" : "safe");

const RESULT_KEY: Readonly<Record<string, string>> = { Hate: "hate", Sexual: "sexual", Violence: "violence", SelfHarm: "self_harm" };

/**
 * A request or answer refused by content safety, Palisade's or the upstream's (Azure OpenAI's own
 * filter): a 400 with code `content_filter` in Azure OpenAI's shape, naming what was found, never text.
 * It carries its audit type and details so the refusal is recorded as what it is.
 */
export class ContentFilteredError extends PalisadeError {
  constructor(
    message: string,
    readonly source: FilterSource,
    readonly place: FilterPlace,
    readonly auditType: AuditEventType,
    readonly auditDetails: Readonly<Record<string, string | number | boolean | null>>,
    innerError: Readonly<Record<string, unknown>>,
    cause?: unknown,
  ) {
    super(400, "invalid_request_error", "content_filter", message, { param: place === "prompt" ? "prompt" : null, innerError, cause });
  }
}

export function isContentFilteredError(value: unknown): value is ContentFilteredError {
  return value instanceof ContentFilteredError;
}

/** Azure OpenAI's `content_filter_result` for Palisade's own verdict. */
function contentFilterResult(verdict: SafetyVerdict): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const blocking = verdict.findings.filter((finding) => finding.action === "block");
  for (const [category, severity] of Object.entries(verdict.severities)) {
    const key = RESULT_KEY[category];
    if (key !== undefined) result[key] = { filtered: blocking.some((finding) => finding.check === "harm_category" && finding.name === category), severity: severityWord(severity ?? 0) };
  }
  const shields = verdict.findings.filter((finding) => finding.check === "prompt_shield");
  if (shields.some((finding) => finding.name === "user_prompt")) result.jailbreak = { filtered: blocking.some((finding) => finding.name === "user_prompt"), detected: true };
  if (shields.some((finding) => finding.name === "document")) result.indirect_attack = { filtered: blocking.some((finding) => finding.name === "document"), detected: true };
  const lists = verdict.findings.filter((finding) => finding.check === "blocklist");
  if (lists.length > 0) result.custom_blocklists = { filtered: true, details: lists.map((finding) => ({ id: finding.name, filtered: true })) };
  return result;
}

/** Palisade's refusal of a prompt or an answer its content-safety policy blocks. */
export function contentFiltered(verdict: SafetyVerdict, place: FilterPlace): ContentFilteredError {
  const found = describeFindings(verdict.findings.filter((finding) => finding.action === "block"));
  const message =
    place === "prompt"
      ? `The request was filtered by Palisade's content safety policy (${found}). Change the request; if you believe this is wrong, ask the project owner.`
      : `The model's answer was filtered by Palisade's content safety policy (${found}).`;
  return new ContentFilteredError(message, "palisade", place, safetyEventType(verdict), safetyAuditDetails(verdict, "palisade", place), {
    code: "ResponsibleAIPolicyViolation",
    source: "palisade",
    content_filter_result: contentFilterResult(verdict),
  });
}

/** Upstream result keys are names like `self_harm`; anything else is dropped rather than recorded. */
const SAFE_KEY = /^[a-z_]{1,40}$/;

/** The categories an upstream `content_filter_result` says it filtered (names only). */
export function filteredCategoriesOf(result: unknown): string[] {
  if (typeof result !== "object" || result === null) return [];
  return Object.entries(result)
    .filter(([key, value]) => SAFE_KEY.test(key) && typeof value === "object" && value !== null && (value as { filtered?: unknown }).filtered === true)
    .map(([key]) => key)
    .sort();
}

/** Keeps only the verdict fields of an upstream `content_filter_result` (filtered, detected, severity): nothing else is passed on. */
function sanitizedResult(result: unknown): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  if (typeof result !== "object" || result === null) return clean;
  for (const [key, value] of Object.entries(result)) {
    if (typeof value !== "object" || value === null || !SAFE_KEY.test(key)) continue;
    const entry = value as { filtered?: unknown; detected?: unknown; severity?: unknown };
    clean[key] = {
      ...(typeof entry.filtered === "boolean" ? { filtered: entry.filtered } : {}),
      ...(typeof entry.detected === "boolean" ? { detected: entry.detected } : {}),
      ...(typeof entry.severity === "string" && /^[a-z]{1,10}$/.test(entry.severity) ? { severity: entry.severity } : {}),
    };
  }
  return clean;
}

const ATTACK_KEYS = new Set(["jailbreak", "indirect_attack"]);

/** Azure OpenAI's own filter refused the prompt: the same error shape and audit event, with the source named. */
export function upstreamContentFiltered(contentFilterResult: unknown, cause?: unknown): ContentFilteredError {
  const filtered = filteredCategoriesOf(contentFilterResult);
  const attack = filtered.some((key) => ATTACK_KEYS.has(key));
  const named = filtered.length > 0 ? filtered.join(", ") : "unspecified";
  const details: Record<string, string | number | boolean | null> = { safetySource: "upstream", safetyPlace: "prompt", safetyAction: "block", upstreamFiltered: named };
  if (attack) details.promptAttack = filtered.filter((key) => ATTACK_KEYS.has(key)).join(",");
  return new ContentFilteredError(
    `The request was filtered by the upstream Azure OpenAI content filter (${named}). Change the request; the deployment's content filter configuration decides what is filtered.`,
    "upstream",
    "prompt",
    attack ? "prompt_attack_detected" : "content_filtered",
    details,
    { code: "ResponsibleAIPolicyViolation", source: "upstream", content_filter_result: sanitizedResult(contentFilterResult) },
    cause,
  );
}

/** Content safety is down and the project fails closed for this check. */
export function contentSafetyUnavailable(check: SafetyCheckGroup): PalisadeError {
  const what = check === "shields" ? "prompt shields" : "harm-category analysis";
  return new PalisadeError(503, "service_unavailable_error", "content_safety_unavailable", `Palisade could not screen this request with content safety (${what}) and this project does not pass unscreened requests. Retry shortly.`, {
    headers: { "retry-after": "5" },
  });
}
