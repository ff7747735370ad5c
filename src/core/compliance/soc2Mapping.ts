import { type ComplianceSummary, type Soc2Control, type Soc2Evidence } from "./ComplianceSummary.js";

const sum = (counts: Readonly<Record<string, number>>, keys: readonly string[]): number => keys.reduce((total, key) => total + (counts[key] ?? 0), 0);

const item = (id: string, description: string, count: number): Soc2Evidence => ({ id, description, count });

/** Refusal reasons that are authorization decisions (error codes from `core/errors.ts`). */
export const AUTHORIZATION_REASONS = ["insufficient_role", "not_a_project_member", "missing_permission", "ip_not_allowed", "model_not_allowed"] as const;
/** Authentication failures caused by a credential's age or state. */
export const CREDENTIAL_STATE_REASONS = ["expired_api_key", "revoked_api_key", "expired_token"] as const;

/**
 * The day's evidence mapped to the SOC 2 common criteria the design names. Each control lists
 * counts drawn from the summary; the mapping (which count evidences which control) is documented
 * in docs/compliance.md.
 */
export function soc2Mapping(summary: Omit<ComplianceSummary, "soc2">): Soc2Control[] {
  const { requests, authFailures, keys, refusals, policyViolations, dlp, integrity, anomalies, policy, resilience, limits } = summary;
  const authenticated = requests.total - authFailures.total;
  const critical = keys.expiringBySeverity.CRITICAL ?? 0;
  const refusedByReason = refusals.byReason;
  return [
    {
      control: "CC6.1",
      title: "Logical access: every request authenticated and attributed",
      status: "ok",
      evidence: [
        item("requests.authenticated", "requests authenticated (API key or Entra token) and attributed to an actor", Math.max(0, authenticated)),
        item("requests.distinctActors", "distinct actors", requests.distinctActors),
        item("auth.failures", "requests refused at authentication", authFailures.total),
        item("privacy.subjects", "distinct end-user subjects, recorded pseudonymised and encrypted only", summary.privacy.subjectsSeen),
      ],
    },
    {
      control: "CC6.2",
      title: "Authentication credentials: age, rotation and revocation",
      status: keys.rotationFailed > 0 || critical > 0 ? "attention" : "ok",
      evidence: [
        item("keys.expiring", "credentials reported expiring or unusable", keys.expiring),
        item("keys.expiringCritical", "of which critical (expired or no usable version)", critical),
        item("keys.created", "credentials created", keys.created),
        item("keys.rotated", "credentials rotated", keys.rotated),
        item("keys.revoked", "credentials revoked", keys.revoked),
        item("keys.rotationFailed", "rotations rolled back", keys.rotationFailed),
        item("auth.credentialState", "requests refused with an expired or revoked credential", sum(authFailures.byReason, CREDENTIAL_STATE_REASONS)),
      ],
    },
    {
      control: "CC6.3",
      title: "Authorization: roles, allowlists and blocks enforced",
      status: "ok",
      evidence: [
        item("policy.violations", "requests refused by policy", policyViolations.total),
        item("authz.refusals", "refused for role, membership, permission, IP or model allowlist", sum(refusedByReason, AUTHORIZATION_REASONS)),
        item("authz.ipAllowlist", "refused by an IP allowlist", refusedByReason.ip_not_allowed ?? 0),
        item("authz.modelAllowlist", "refused by a model allowlist", refusedByReason.model_not_allowed ?? 0),
        item("dlp.blocked", "requests blocked for sensitive data", dlp.blocked),
        item("routing.residencyBlocks", "requests refused to protect data residency", resilience.residencyBlocks),
      ],
    },
    {
      control: "CC7.2",
      title: "Monitoring: record integrity, anomalies and sensitive data",
      status: !integrity.intact || integrity.checkpoint === null || integrity.trust?.mode === "key_vault" || anomalies.length > 0 ? "attention" : "ok",
      evidence: [
        item("audit.chainIntact", "hash chain verified intact (1) or not (0)", integrity.intact ? 1 : 0),
        item("audit.entriesVerified", "chain entries verified", integrity.entriesChecked),
        item("audit.checkpointsVerified", "signed checkpoints verified", integrity.checkpointsChecked),
        item("audit.checkpointSigned", "checkpoint signed for this run (1) or not (0)", integrity.checkpoint === null ? 0 : 1),
        item("audit.checkpointKeysPinned", "checkpoint signatures checked against pinned key versions (1) or any vault version (0)", integrity.trust?.mode === "key_vault" ? 0 : 1),
        item("monitoring.anomalies", "actors departing sharply from their trailing 7 days", anomalies.length),
        item("dlp.findings", "sensitive-data findings (all entity types)", Object.values(dlp.findingsByEntityType).reduce((a, b) => a + b, 0)),
        item("safety.promptAttacksBlocked", "prompt attacks (jailbreaks, injections in documents) refused", summary.contentSafety.promptAttacksBlocked),
        item("safety.contentFiltered", "requests or answers refused for harmful content", summary.contentSafety.contentFiltered),
        item("safety.flagged", "content-safety findings recorded and passed (flag)", summary.contentSafety.flagged),
      ],
    },
    {
      control: "CC8.1",
      title: "Change management: policy versions and changes recorded",
      status: "ok",
      evidence: [
        item("policy.versionsInForce", "distinct policy versions decisions were made under", Object.keys(policy.versions).length),
        item("policy.changed", "policy or endpoint changes recorded", policy.policyChanged),
        item("policy.modelChanged", "project model changes recorded", policy.modelChanged),
      ],
    },
    {
      control: "CC9.1",
      title: "Risk mitigation: failover, limits and budgets",
      status: "ok",
      evidence: [
        item("routing.failovers", "failovers to another compliant endpoint", resilience.failovers),
        item("routing.upstreamErrors", "requests that failed upstream after failover", resilience.upstreamErrors),
        item("limits.rateLimited", "requests refused by rate limits", limits.rateLimited),
        item("limits.budgetExceeded", "requests refused by budgets", limits.budgetExceeded),
        item("limits.budgetWarnings", "budget warnings raised", limits.budgetWarnings),
        item("limits.unenforced", "requests served with their limits unchecked (counter store unreachable, project failing open)", limits.unenforced),
        item("safety.unavailableRefused", "requests refused because content safety was unavailable (fail closed)", summary.contentSafety.unavailable),
        item("safety.failedOpen", "requests passed unscreened because content safety was unavailable (fail open)", summary.contentSafety.failedOpen),
      ],
    },
  ];
}
