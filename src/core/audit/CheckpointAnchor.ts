import { type SignedCheckpoint } from "./checkpointNote.js";

export interface AnchorOptions {
  readonly abortSignal?: AbortSignal;
}

export type PutCheckpointResult = "stored" | "exists";

/**
 * Where signed checkpoints go, out of the chain writer's reach (Azure: a blob container under a
 * locked immutability policy). Never overwrites: a second put of the same chain and size returns
 * `exists` and leaves the first in place.
 */
export interface CheckpointAnchor {
  put(checkpoint: SignedCheckpoint, options?: AnchorOptions): Promise<PutCheckpointResult>;
  /** Every checkpoint stored for the chain, by size ascending. Unparseable notes are skipped. */
  list(chainId: string, options?: AnchorOptions): AsyncIterable<SignedCheckpoint>;
  getLatest(chainId: string, options?: AnchorOptions): Promise<SignedCheckpoint | null>;
}
