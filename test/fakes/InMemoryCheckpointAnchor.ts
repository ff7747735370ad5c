import { type CheckpointAnchor, type PutCheckpointResult } from "../../src/core/audit/CheckpointAnchor.js";
import { type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";

export class InMemoryCheckpointAnchor implements CheckpointAnchor {
  /** chain -> size -> note. Tests may reach in to simulate an attacker with write access. */
  readonly notes = new Map<string, Map<number, SignedCheckpoint>>();

  async put(checkpoint: SignedCheckpoint): Promise<PutCheckpointResult> {
    const chain = this.notes.get(checkpoint.origin) ?? new Map<number, SignedCheckpoint>();
    this.notes.set(checkpoint.origin, chain);
    if (chain.has(checkpoint.size)) return "exists";
    chain.set(checkpoint.size, structuredClone(checkpoint));
    return "stored";
  }

  async *list(chainId: string): AsyncIterable<SignedCheckpoint> {
    const chain = this.notes.get(chainId);
    if (chain === undefined) return;
    for (const size of [...chain.keys()].sort((a, b) => a - b)) yield structuredClone(chain.get(size) as SignedCheckpoint);
  }

  async getLatest(chainId: string): Promise<SignedCheckpoint | null> {
    let latest: SignedCheckpoint | null = null;
    for await (const c of this.list(chainId)) latest = c;
    return latest;
  }
}
