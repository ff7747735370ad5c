/**
 * Where each managed credential's rotation stands: one row per credential (table `RotationState`).
 * Every write is a compare-and-set on the row's ETag, so two rotators never both advance one
 * credential; the row's server timestamp is the service clock the overlap is measured with.
 * Holds ids and times only, never a credential value.
 */

/** The last step completed. `idle`: no rotation in flight. */
export const ROTATION_STEPS = ["idle", "begun", "stored", "verified", "promoted", "rolling_back"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationState {
  readonly step: RotationStep;
  /** The rotation in flight; every step is idempotent under it. Null when idle. */
  readonly rotationId: string | null;
  /** The run holding the lease, and until when (by its own clock: the ETag, not the lease, is the safety). */
  readonly owner: string | null;
  readonly leaseUntilInMs: number | null;
  /** The version that was current when the rotation began (it becomes previous, then retired). */
  readonly fromVersion: string | null;
  /** The new version, once stored. */
  readonly pendingVersion: string | null;
  /** Key Vault's update time of the promotion: the start of the overlap (a service timestamp). */
  readonly promotedAtInMs: number | null;
  readonly overlapInMs: number | null;
  readonly lastRotationId: string | null;
  readonly lastOutcome: "completed" | "rolled_back" | null;
  /** A stable code for why the last rotation was rolled back. */
  readonly lastFailureReason: string | null;
  /** Server time of the write that completed the last rotation. */
  readonly lastCompletedAtInMs: number | null;
}

export const IDLE_ROTATION_STATE: RotationState = {
  step: "idle",
  rotationId: null,
  owner: null,
  leaseUntilInMs: null,
  fromVersion: null,
  pendingVersion: null,
  promotedAtInMs: null,
  overlapInMs: null,
  lastRotationId: null,
  lastOutcome: null,
  lastFailureReason: null,
  lastCompletedAtInMs: null,
};

export interface StoredRotationState {
  readonly credentialId: string;
  readonly state: RotationState;
  /** Opaque; pass it back to `update`. */
  readonly etag: string;
  /** The store's own time of the last write (Table Storage's Timestamp), never the caller's clock. */
  readonly serverTimestampInMs: number;
}

export interface RotationStateOptions {
  readonly abortSignal?: AbortSignal;
}

export interface RotationStateStore {
  get(credentialId: string, options?: RotationStateOptions): Promise<StoredRotationState | null>;
  /** Throws RotationStateConflictError when a row already exists. */
  create(credentialId: string, state: RotationState, options?: RotationStateOptions): Promise<StoredRotationState>;
  /** Throws RotationStateConflictError when the row changed since `etag` was read, or is gone. */
  update(credentialId: string, state: RotationState, etag: string, options?: RotationStateOptions): Promise<StoredRotationState>;
  list(options?: RotationStateOptions): AsyncIterable<StoredRotationState>;
}

export class RotationStateConflictError extends Error {
  override readonly name = "RotationStateConflictError";
  constructor(readonly credentialId: string) {
    super(`The rotation state of "${credentialId}" was changed by another run; this run stops and leaves it to that one.`);
  }
}

export function isRotationStateConflictError(value: unknown): value is RotationStateConflictError {
  return value instanceof Error && value.name === "RotationStateConflictError";
}

/** Checks a decoded row: ids, steps and numbers only. */
export function parseRotationState(value: unknown): RotationState | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  const step = record.step;
  if (typeof step !== "string" || !ROTATION_STEPS.some((known) => known === step)) return null;
  const text = (key: string): string | null => (typeof record[key] === "string" ? record[key] : null);
  const num = (key: string): number | null => (typeof record[key] === "number" && Number.isFinite(record[key]) ? record[key] : null);
  const outcome = record.lastOutcome;
  return {
    step: step as RotationStep,
    rotationId: text("rotationId"),
    owner: text("owner"),
    leaseUntilInMs: num("leaseUntilInMs"),
    fromVersion: text("fromVersion"),
    pendingVersion: text("pendingVersion"),
    promotedAtInMs: num("promotedAtInMs"),
    overlapInMs: num("overlapInMs"),
    lastRotationId: text("lastRotationId"),
    lastOutcome: outcome === "completed" || outcome === "rolled_back" ? outcome : null,
    lastFailureReason: text("lastFailureReason"),
    lastCompletedAtInMs: num("lastCompletedAtInMs"),
  };
}
