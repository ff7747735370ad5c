import { type SignedCheckpoint } from "./checkpointNote.js";

export interface AnchorOptions {
  readonly abortSignal?: AbortSignal;
}

export type PutCheckpointResult = "stored" | "exists";

/** A stored note as the verifier sees it: a checkpoint, or one that cannot be read (which is a failure). */
export type AnchoredNote =
  | { readonly size: number; readonly checkpoint: SignedCheckpoint }
  | { readonly size: number | null; readonly unreadable: string };

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
  /** Every note stored for the chain, readable or not, by size: what the verifier checks. */
  listNotes(chainId: string, options?: AnchorOptions): AsyncIterable<AnchoredNote>;
}
