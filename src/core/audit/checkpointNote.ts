/**
 * A signed checkpoint (a signed tree head): the chain's Merkle root at a size, signed with ES256.
 * The signed bytes are the note text below, SHA-256'd; the signature is r||s (64 bytes), base64.
 */
export interface CheckpointBody {
  /** The chain id. */
  readonly origin: string;
  readonly size: number;
  /** RFC 6962 root over entries [0, size), hex. */
  readonly rootHash: string;
  readonly timestamp: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  readonly keyId: string;
  readonly algorithm: "ES256";
  readonly signature: string;
  /** Lets the next checkpoint start here instead of re-reading the chain (not signed: checked against rootHash). */
  readonly resume?: CheckpointResume;
}

/**
 * The tree's state at a checkpoint, in the form RFC 6962 already verifies: the hash of the last entry and
 * the inclusion proof of its leaf. That proof is the right edge (compact range) of the tree of size - 1,
 * so with the last leaf it gives the right edge at `size`. It is trusted only after
 * verifyInclusion(leaf, size - 1, size, proof, rootHash) succeeds under a verified signature.
 */
export interface CheckpointResume {
  /** SHA-256 of entry size - 1, hex: the `prev` entry `size` must carry. */
  readonly lastEntryHash: string;
  /** PATH(size - 1, D[0:size]), hex, smallest subtree first. */
  readonly lastLeafProof: readonly string[];
}

export const CHECKPOINT_NOTE_HEADER = "palisade-audit-checkpoint/v1";

/** The exact text that is signed. Rebuilt from the fields: a stored copy is never trusted. */
export function checkpointNoteText(body: CheckpointBody): string {
  return `${CHECKPOINT_NOTE_HEADER}\n${body.origin}\n${body.size}\n${body.rootHash}\n${body.timestamp}\n`;
}

export function isSignedCheckpoint(value: unknown): value is SignedCheckpoint {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.origin === "string" &&
    typeof v.size === "number" &&
    Number.isInteger(v.size) &&
    v.size >= 0 &&
    typeof v.rootHash === "string" &&
    /^[0-9a-f]{64}$/.test(v.rootHash) &&
    typeof v.timestamp === "string" &&
    typeof v.keyId === "string" &&
    v.algorithm === "ES256" &&
    typeof v.signature === "string"
  );
}
