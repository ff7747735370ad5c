import { createHash } from "node:crypto";
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent, type AuditEventType, type AuditStatus } from "../audit/AuditEvent.js";

export interface CredentialAuditInput {
  readonly type: AuditEventType;
  /** The job or operator that acted (`rotateKeys`, `keyExpiryCheck`, `cli`). */
  readonly actorId: string;
  readonly project: string;
  readonly environment?: string;
  readonly status: AuditStatus;
  readonly reason?: string;
  readonly atInMs: number;
  readonly policyVersion: string;
  /** Ids, stages, counts; never a value. */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * Makes the event id deterministic (a UUID-shaped SHA-256 of these parts), so a step repeated after
   * a crash yields the same event and the ledger's dedupe row drops the repeat. Random when absent.
   */
  readonly idempotencyParts?: readonly string[];
  readonly newEventId: () => string;
}

function uuidFrom(parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  // Version 8 (custom) UUID layout.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** An audit event about a credential. Carries ids and stages, never key material. */
export function credentialAuditEvent(input: CredentialAuditInput): AuditEvent {
  return {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    eventId: input.idempotencyParts === undefined ? input.newEventId() : uuidFrom([input.type, ...input.idempotencyParts]),
    ts: new Date(input.atInMs).toISOString(),
    type: input.type,
    actor: { kind: "system", id: input.actorId },
    project: input.project,
    ...(input.environment === undefined ? {} : { environment: input.environment }),
    status: input.status,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    policyVersion: input.policyVersion,
    details: input.details,
  };
}
