import { createHash } from "node:crypto";
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent } from "../audit/AuditEvent.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type Policy } from "../policy/schema.js";
import { type PolicyChange, policyChanges } from "./policyChanges.js";
import { snapshotOf } from "./PolicySnapshot.js";
import { type PolicySnapshotStore } from "./PolicySnapshotStore.js";

export interface RecordPolicyChangesDeps {
  readonly store: PolicySnapshotStore;
  readonly publisher: AuditPublisher;
  readonly policy: Policy;
  /** SHA-256 of the policy text (LoadedPolicy.version). */
  readonly version: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The actor of the change events (default `policyTrail`). */
  readonly actorId?: string;
  readonly abortSignal?: AbortSignal;
  /** Compare-and-set attempts before giving up (default 5). */
  readonly maxAttempts?: number;
  /** How long pending events are left to the instance that claimed them before another takes over (default 2 min). */
  readonly pendingLeaseInMs?: number;
}

export interface RecordPolicyChangesResult {
  /**
   * `unchanged`: this version was already recorded. `recorded`: this instance moved the snapshot
   * (or finished a pending publication) and published `events`. `pending`: the snapshot moved but
   * publishing failed; the events stay in the row and the next start-up publishes them.
   * `in_progress`: another instance claimed this version's events moments ago and is publishing them.
   */
  readonly outcome: "unchanged" | "recorded" | "pending" | "in_progress";
  readonly events: number;
}

function uuidFrom(parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The change as an audit event with a deterministic id (from-version, to-version, change), so a republish is deduplicated by the chain. */
function stamp(change: PolicyChange, fromVersion: string | null, toVersion: string, tsInMs: number, actorId: string): AuditEvent {
  return {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    eventId: uuidFrom(["policy-trail", fromVersion ?? "none", toVersion, change.type, change.project, change.key]),
    ts: new Date(tsInMs).toISOString(),
    type: change.type,
    actor: { kind: "system", id: actorId },
    project: change.project,
    status: "success",
    policyVersion: toVersion,
    reason: change.reason,
    details: change.details,
  };
}

/**
 * Call once at start-up. Compares the policy in force with the last recorded snapshot and, when the
 * version differs, emits `policy_changed` / `model_changed` events. The snapshot moves by
 * compare-and-set together with the stamped events (as pending, with the claim's time), so of N
 * instances starting together exactly one emits. A crash or a publish failure after the move
 * leaves the events pending; a start-up after the claim has gone stale (`pendingLeaseInMs`) claims
 * and publishes them again (same ids: the chain drops duplicates).
 */
export async function recordPolicyChanges(deps: RecordPolicyChangesDeps): Promise<RecordPolicyChangesResult> {
  const { store, publisher, clock, logger, version } = deps;
  const options = deps.abortSignal === undefined ? {} : { abortSignal: deps.abortSignal };
  const actorId = deps.actorId ?? "policyTrail";
  const maxAttempts = deps.maxAttempts ?? 5;
  const leaseInMs = deps.pendingLeaseInMs ?? 120_000;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const stored = await store.get(options);
    const now = clock.nowInMs();
    let events: readonly AuditEvent[];
    if (stored !== null && stored.snapshot.version === version) {
      if (stored.pendingEvents.length === 0) return { outcome: "unchanged", events: 0 };
      // Left pending by a failed publish or a crash: take them over once the claim is stale.
      if (stored.pendingSinceInMs !== null && now - stored.pendingSinceInMs < leaseInMs) return { outcome: "in_progress", events: 0 };
      events = stored.pendingEvents;
    } else {
      const previous = stored?.snapshot ?? null;
      events = policyChanges(previous, deps.policy, version).map((change) => stamp(change, previous?.version ?? null, version, now, actorId));
    }
    // Claim: the snapshot and the events move together, by compare-and-set; only the winner publishes.
    const written = await store.compareAndSet({ snapshot: snapshotOf(deps.policy, version), pendingEvents: events, pendingSinceInMs: now }, stored?.etag ?? null, options);
    if (written === null) continue;
    const etag = written;
    try {
      await publisher.publish(events, options);
    } catch {
      logger.error("policy trail: change events could not be published; the next start-up retries", { policyVersion: version.slice(0, 12), events: events.length });
      return { outcome: "pending", events: events.length };
    }
    // Another instance may have cleared or moved it meanwhile: either way the events are out.
    await store.compareAndSet({ snapshot: snapshotOf(deps.policy, version), pendingEvents: [], pendingSinceInMs: null }, etag, options);
    logger.info("policy trail: change recorded", { policyVersion: version.slice(0, 12), events: events.length });
    return { outcome: "recorded", events: events.length };
  }
  throw new Error(`policy trail: the snapshot kept changing under ${maxAttempts} attempts; another deployment is starting with a different policy`);
}
