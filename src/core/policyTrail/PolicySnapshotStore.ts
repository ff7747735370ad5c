import { type AuditEvent } from "../audit/AuditEvent.js";
import { type PolicySnapshot } from "./PolicySnapshot.js";

/** The last policy snapshot, and the change events not yet confirmed published. */
export interface PolicyTrailState {
  readonly snapshot: PolicySnapshot;
  /** Stamped events (fixed ids) for the change to `snapshot`, kept until published. */
  readonly pendingEvents: readonly AuditEvent[];
  /** When the instance publishing `pendingEvents` claimed them (its clock); null when none are pending. */
  readonly pendingSinceInMs: number | null;
}

export interface StoredPolicyTrailState extends PolicyTrailState {
  /** Opaque; pass it back to `compareAndSet`. */
  readonly etag: string;
}

export interface PolicySnapshotStoreOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * One row (table `PolicySnapshots`) holding the snapshot of the policy last started with. Every
 * write is a compare-and-set, so of N instances starting a new version together exactly one moves
 * the snapshot and emits the change.
 */
export interface PolicySnapshotStore {
  get(options?: PolicySnapshotStoreOptions): Promise<StoredPolicyTrailState | null>;
  /**
   * Writes `state` if the stored row still has `expectedEtag` (null: only if there is no row yet).
   * Returns the new etag, or null when another writer got there first.
   */
  compareAndSet(state: PolicyTrailState, expectedEtag: string | null, options?: PolicySnapshotStoreOptions): Promise<string | null>;
}
