import { type DataClass } from "../policy/schema.js";

/**
 * One audit event per decision. Schema-versioned; carries metadata, digests and counts —
 * never prompt or completion text, keys, or detected sensitive values.
 */
export const AUDIT_EVENT_SCHEMA_VERSION = 1;

export const AUDIT_EVENT_TYPES = [
  "api_call",
  /** A request admitted to an upstream call, recorded before (or while) the call is made; its `api_call` follows. */
  "request_admitted",
  "auth_failed",
  "policy_violation",
  "pii_detected",
  "rate_limited",
  "budget_exceeded",
  "budget_warning",
  "fallback_triggered",
  "residency_blocked",
  "key_created",
  "key_expiring",
  "key_rotated",
  "key_revoked",
  "rotation_failed",
  "model_changed",
  "policy_changed",
  "checkpoint_signed",
  "dsr_exported",
  "dsr_erased",
  "content_filtered",
  "prompt_attack_detected",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export type AuditStatus = "success" | "error" | "blocked";

export interface AuditActor {
  readonly kind: "service-account" | "user" | "system" | "anonymous";
  /** Service account id, Entra object id, or the system job's name. Never a key secret. */
  readonly id: string;
  /** The API key id used (its public part), when a key was used. */
  readonly keyId?: string;
}

export interface AuditTokens {
  readonly input: number;
  readonly cachedInput?: number;
  readonly output: number;
}

export interface AuditEvent {
  readonly schemaVersion: typeof AUDIT_EVENT_SCHEMA_VERSION;
  /** Unique per event (UUID); also the Service Bus messageId, so redelivery is deduplicated. */
  readonly eventId: string;
  /** ISO 8601 UTC timestamp. */
  readonly ts: string;
  readonly type: AuditEventType;
  readonly actor: AuditActor;
  /** Project id; also the chain id. `_system` for events that belong to no project. */
  readonly project: string;
  readonly environment?: string;
  readonly model?: string;
  readonly deployment?: string;
  readonly endpointId?: string;
  readonly region?: string;
  readonly classification?: DataClass;
  readonly status: AuditStatus;
  readonly httpStatus?: number;
  readonly tokens?: AuditTokens;
  readonly costUsd?: number;
  readonly latencyInMs?: number;
  /** Entity type -> count. */
  readonly dlpFindings?: Readonly<Record<string, number>>;
  readonly dlpAction?: string;
  readonly requestId?: string;
  readonly traceId?: string;
  /** SHA-256 of the policy text in force. */
  readonly policyVersion: string;
  /** A stable machine-readable reason (an error code such as `model_not_allowed`). */
  readonly reason?: string;
  /** HMAC-SHA256 of the prompt under a key held in Key Vault; never a plain hash. */
  readonly contentDigest?: string;
  /** Pseudonymised, encrypted end-user identifier (GDPR). */
  readonly subject?: string;
  /** Type-specific metadata: ids, regions, counts. Never content. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** The chain an event belongs to. */
export const SYSTEM_CHAIN_ID = "_system";
export const chainIdOf = (event: Pick<AuditEvent, "project">): string => event.project;
