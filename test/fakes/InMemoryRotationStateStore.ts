import type { Clock } from "../../src/core/clock.js";
import {
  type RotationState,
  type RotationStateStore,
  RotationStateConflictError,
  type StoredRotationState,
} from "../../src/core/rotation/RotationStateStore.js";

/**
 * RotationStateStore in memory, with Table Storage's behaviour: ETag compare-and-set, and a server
 * timestamp from the store's own clock (pass a clock apart from the rotator's to model skew).
 */
export class InMemoryRotationStateStore implements RotationStateStore {
  private readonly rows = new Map<string, StoredRotationState>();
  private counter = 0;
  /** Number of writes, to observe heartbeats. */
  writes = 0;

  constructor(private readonly serverClock: Clock) {}

  async get(credentialId: string): Promise<StoredRotationState | null> {
    const row = this.rows.get(credentialId);
    return row === undefined ? null : structuredClone(row);
  }

  async create(credentialId: string, state: RotationState): Promise<StoredRotationState> {
    if (this.rows.has(credentialId)) throw new RotationStateConflictError(credentialId);
    return this.put(credentialId, state);
  }

  async update(credentialId: string, state: RotationState, etag: string): Promise<StoredRotationState> {
    const row = this.rows.get(credentialId);
    if (row === undefined || row.etag !== etag) throw new RotationStateConflictError(credentialId);
    return this.put(credentialId, state);
  }

  async *list(): AsyncIterable<StoredRotationState> {
    for (const row of [...this.rows.values()]) yield structuredClone(row);
  }

  private put(credentialId: string, state: RotationState): StoredRotationState {
    this.counter += 1;
    this.writes += 1;
    const row: StoredRotationState = { credentialId, state: structuredClone(state), etag: `W/"${this.counter}"`, serverTimestampInMs: this.serverClock.nowInMs() };
    this.rows.set(credentialId, row);
    return structuredClone(row);
  }
}
