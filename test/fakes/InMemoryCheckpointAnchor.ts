import { type AnchoredNote, type CheckpointAnchor, type PutCheckpointResult } from "../../src/core/audit/CheckpointAnchor.js";
import { isSignedCheckpoint, type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";

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

  /** Notes an attacker corrupted (chain -> size -> text that is not a valid note). */
  readonly corrupted = new Map<string, Map<number, string>>();

  async *list(chainId: string): AsyncIterable<SignedCheckpoint> {
    for await (const note of this.listNotes(chainId)) if ("checkpoint" in note) yield note.checkpoint;
  }

  async *listNotes(chainId: string): AsyncIterable<AnchoredNote> {
    const chain = this.notes.get(chainId) ?? new Map<number, SignedCheckpoint>();
    const corrupted = this.corrupted.get(chainId) ?? new Map<number, string>();
    for (const size of [...new Set([...chain.keys(), ...corrupted.keys()])].sort((a, b) => a - b)) {
      const value: unknown = corrupted.has(size) ? corrupted.get(size) : chain.get(size);
      if (isSignedCheckpoint(value) && value.origin === chainId && value.size === size) yield { size, checkpoint: structuredClone(value) };
      else yield { size, unreadable: `note ${size} is not a signed checkpoint of ${chainId}` };
    }
  }

  async getLatest(chainId: string): Promise<SignedCheckpoint | null> {
    let latest: SignedCheckpoint | null = null;
    for await (const c of this.list(chainId)) latest = c;
    return latest;
  }
}
