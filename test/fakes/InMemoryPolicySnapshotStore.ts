import { type PolicySnapshotStore, type PolicyTrailState, type StoredPolicyTrailState } from "../../src/core/policyTrail/PolicySnapshotStore.js";

export class InMemoryPolicySnapshotStore implements PolicySnapshotStore {
  private row: StoredPolicyTrailState | null = null;
  private version = 0;
  writes = 0;

  async get(): Promise<StoredPolicyTrailState | null> {
    // A copy through JSON, as a real store serialises.
    return this.row === null ? null : (JSON.parse(JSON.stringify(this.row)) as StoredPolicyTrailState);
  }

  async compareAndSet(state: PolicyTrailState, expectedEtag: string | null): Promise<string | null> {
    if ((this.row?.etag ?? null) !== expectedEtag) return null;
    this.version += 1;
    const etag = `W/"${this.version}"`;
    this.row = { ...(JSON.parse(JSON.stringify(state)) as PolicyTrailState), etag };
    this.writes += 1;
    return etag;
  }
}
