import { type AuditEventType } from "../audit/AuditEvent.js";
import { type CheckpointTrustUsed } from "../audit/checkpointTrustUsed.js";
import { type ContentSafetyCounts } from "./contentSafetyCounts.js";

/**
 * One chain's compliance summary for one UTC day (`summary.json`). Schema-versioned: a reader
 * checks `schema` before trusting the shape. Counts and ids only, never content or subjects.
 */
export const COMPLIANCE_SUMMARY_SCHEMA = "palisade-compliance-summary/v1";

export type Counts = Record<string, number>;

export interface UsageTotals {
  /** Request events (api_call and the refusals) in this group. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface ModelInUse {
  readonly model: string;
  readonly deployments: readonly string[];
  readonly endpoints: readonly string[];
  readonly regions: readonly string[];
  readonly calls: number;
}

export interface Anomaly {
  readonly actor: string;
  readonly metric: "requests" | "blocked";
  readonly direction: "spike" | "drop";
  readonly count: number;
  /** Mean and standard deviation of the trailing days' counts (days without events count as 0). */
  readonly baselineMean: number;
  readonly baselineStdDev: number;
  readonly zScore: number;
  /** True when the actor had no events at all in the trailing window. */
  readonly newActor: boolean;
}

export interface ChainIntegrity {
  readonly intact: boolean;
  readonly entriesChecked: number;
  readonly checkpointsChecked: number;
  readonly problem: string | null;
  readonly firstBadSequence: number | null;
  readonly message: string;
  /** The checkpoint signed (or already standing) at the end of the run; null when none could be signed. */
  readonly checkpoint: { readonly size: number; readonly rootHash: string; readonly timestamp: string; readonly keyId: string } | null;
  /** Why no checkpoint was signed, as a stable code (`empty_chain`, an integrity problem, `signing_failed`). */
  readonly checkpointError: string | null;
  /**
   * The checkpoint-signing keys the verification trusted: the pinned versions (with the root's
   * thumbprint, to compare from report to report), or `key_vault` when no pins were available.
   */
  readonly trust?: CheckpointTrustUsed;
  /**
   * Events meant for this chain that are not in it yet (outbox, the broker's dead-letter queue, the
   * dead-letter store): an intact chain with a backlog is not complete. Absent when not counted.
   */
  readonly pending?: { readonly outbox: number; readonly deadLetterQueue: number | null; readonly deadLetterStore: number; readonly complete: boolean };
}

export interface Soc2Evidence {
  readonly id: string;
  readonly description: string;
  readonly count: number;
}

export interface Soc2Control {
  readonly control: "CC6.1" | "CC6.2" | "CC6.3" | "CC7.2" | "CC8.1" | "CC9.1";
  readonly title: string;
  /** `attention`: the evidence itself shows something to follow up (a failure, an anomaly, a broken chain). */
  readonly status: "ok" | "attention";
  readonly evidence: readonly Soc2Evidence[];
}

export interface ComplianceSummary {
  readonly schema: typeof COMPLIANCE_SUMMARY_SCHEMA;
  readonly chainId: string;
  readonly period: { readonly date: string; readonly since: string; readonly until: string };
  readonly generatedAt: string;
  readonly events: { readonly total: number; readonly byType: Readonly<Record<AuditEventType, number>> };
  readonly requests: {
    readonly total: number;
    readonly byStatus: { readonly success: number; readonly error: number; readonly blocked: number };
    readonly byHttpStatus: Readonly<Counts>;
    readonly distinctActors: number;
    readonly cacheHits: number;
  };
  readonly tokens: { readonly input: number; readonly cachedInput: number; readonly output: number; readonly total: number };
  readonly cost: {
    readonly totalUsd: number;
    readonly byProject: Readonly<Record<string, UsageTotals>>;
    readonly byModel: Readonly<Record<string, UsageTotals>>;
    readonly byDeployment: Readonly<Record<string, UsageTotals>>;
    /** `chat`, `embeddings`, `responses` -> usage, from the request events that name their operation. */
    readonly byOperation: Readonly<Record<string, UsageTotals>>;
    /** `key=value` tag -> usage, from the project tags of the policy in force when the report ran. */
    readonly byTag: Readonly<Record<string, UsageTotals>>;
  };
  readonly refusals: { readonly total: number; readonly byType: Readonly<Counts>; readonly byReason: Readonly<Counts> };
  readonly policyViolations: { readonly total: number; readonly byReason: Readonly<Counts> };
  readonly authFailures: { readonly total: number; readonly byReason: Readonly<Counts> };
  readonly dlp: {
    readonly eventsWithFindings: number;
    readonly findingsByEntityType: Readonly<Counts>;
    readonly byAction: Readonly<Counts>;
    readonly blocked: number;
  };
  readonly limits: {
    readonly rateLimited: number;
    readonly budgetExceeded: number;
    readonly budgetWarnings: number;
    /** Requests served without their limits checked (counter store unreachable, project failing open: `details.limitsEnforced` false). */
    readonly unenforced: number;
  };
  readonly resilience: {
    readonly failovers: number;
    readonly failoversByReason: Readonly<Counts>;
    readonly failoverRoutes: Readonly<Counts>;
    readonly residencyBlocks: number;
    readonly upstreamErrors: number;
  };
  readonly keys: {
    readonly expiring: number;
    readonly expiringBySeverity: Readonly<Counts>;
    readonly created: number;
    readonly rotated: number;
    readonly revoked: number;
    readonly rotationFailed: number;
    /** Credential ids named by key events (ids, never values). */
    readonly credentials: readonly string[];
  };
  readonly privacy: { readonly subjectsSeen: number; readonly dsrExported: number; readonly dsrErased: number };
  readonly policy: {
    /** Policy versions (SHA-256 of the policy text) the day's events were decided under, with counts. */
    readonly versions: Readonly<Counts>;
    readonly policyChanged: number;
    readonly modelChanged: number;
  };
  /** Prompt attacks and harmful content refused or flagged, and requests passed unscreened (docs/content-safety.md). */
  readonly contentSafety: ContentSafetyCounts;
  /** Project -> the models its calls used (the model inventory). */
  readonly modelInventory: Readonly<Record<string, readonly ModelInUse[]>>;
  readonly anomalies: readonly Anomaly[];
  readonly integrity: ChainIntegrity;
  readonly soc2: readonly Soc2Control[];
}
