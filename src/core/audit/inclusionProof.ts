import { type AuditLedger } from "./AuditLedger.js";
import { type CheckpointAnchor } from "./CheckpointAnchor.js";
import { type SignedCheckpoint } from "./checkpointNote.js";
import { collect } from "./AuditCheckpointer.js";
import { entryLeafHash, formatSequence, parseEntryBody } from "./ChainEntry.js";
import { isCheckpointSigned } from "./isCheckpointSigned.js";
import { inclusionProof, merkleRoot, verifyInclusion } from "./merkle.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";

/** An RFC 6962 inclusion proof of one event in a chain's tree, against a signed checkpoint when one covers it. */
export interface AuditInclusionProof {
  readonly chainId: string;
  readonly eventId: string;
  readonly sequence: number;
  /** The entry's canonical bytes (the leaf data is their SHA-256). */
  readonly canonical: string;
  readonly leafHash: string;
  readonly treeSize: number;
  readonly rootHash: string;
  /** Sibling hashes, leaf to root, hex. */
  readonly path: readonly string[];
  /** The signed checkpoint whose root the proof reaches; absent when none covers the event yet. */
  readonly checkpoint?: SignedCheckpoint;
}

export interface ProofCheck {
  readonly valid: boolean;
  /** Whether a signed checkpoint backs the proof; without one it proves nothing a writer could not recompute. */
  readonly signed: boolean;
  readonly problem?: "bad_inclusion_proof" | "bad_checkpoint_signature";
  readonly sequence: number;
  readonly message: string;
}

export class AuditEventNotFoundError extends Error {
  override readonly name = "AuditEventNotFoundError";
}

/** The dedupe row points the event at an entry that holds another event: the store was tampered with. */
export class AuditProofMismatchError extends Error {
  override readonly name = "AuditProofMismatchError";
  readonly problem = "dedupe_mismatch";
  constructor(
    message: string,
    readonly sequence: number,
  ) {
    super(message);
  }
}

/** Whether canonical entry bytes hold this event of this chain at this position. */
function holdsEvent(canonical: string, chainId: string, eventId: string, sequence: number): boolean {
  const body = parseEntryBody(canonical);
  return body !== null && body.event.eventId === eventId && body.chain === chainId && body.seq === sequence;
}

/** Finds the event (in one chain, or every chain) and builds its proof. */
export async function proveAuditEvent(
  deps: { ledger: AuditLedger; anchor: CheckpointAnchor },
  eventId: string,
  chainId?: string,
): Promise<AuditInclusionProof> {
  const chains: string[] = [];
  if (chainId !== undefined) chains.push(chainId);
  else for await (const head of deps.ledger.listChains()) chains.push(head.chainId);
  for (const chain of chains) {
    const sequence = (await deps.ledger.findAppended(chain, [eventId])).get(eventId);
    if (sequence === undefined) continue;
    const checkpoints = await collect(deps.anchor.list(chain));
    const checkpoint = checkpoints.find((c) => c.size > sequence);
    const head = await deps.ledger.getHead(chain);
    const treeSize = checkpoint?.size ?? head?.size ?? sequence + 1;
    const entries = await collect(deps.ledger.listEntries(chain, { toSequence: treeSize }));
    const leaves = entries.map((e) => entryLeafHash(e.canonical));
    const entry = entries[sequence];
    if (entry === undefined || leaves.length < treeSize || entry.rowKey !== formatSequence(sequence)) throw new AuditEventNotFoundError(`Entry ${sequence} of chain ${chain} is missing or out of place; run "palisade audit verify".`);
    // The dedupe row only says where to look: the entry itself must hold the event asked about.
    if (!holdsEvent(entry.canonical, chain, eventId, sequence)) {
      throw new AuditProofMismatchError(`The dedupe row of event ${eventId} points at entry ${sequence} of chain ${chain}, which holds another event (forged or moved dedupe row).`, sequence);
    }
    return {
      chainId: chain,
      eventId,
      sequence,
      canonical: entry.canonical,
      leafHash: (leaves[sequence] as Buffer).toString("hex"),
      treeSize,
      rootHash: merkleRoot(leaves).toString("hex"),
      path: inclusionProof(leaves, sequence).map((h) => h.toString("hex")),
      ...(checkpoint === undefined ? {} : { checkpoint }),
    };
  }
  throw new AuditEventNotFoundError(`Event ${eventId} is in no chain${chainId === undefined ? "" : ` (looked in ${chainId})`}.`);
}

/**
 * Checks a proof on its own: the leaf hash is recomputed from the canonical bytes, the path must
 * reach the root, and the root must be the signed checkpoint's (whose signature is checked).
 */
export async function checkAuditInclusionProof(proof: AuditInclusionProof, verifier: SignatureVerifier): Promise<ProofCheck> {
  const bad = (message: string): ProofCheck => ({ valid: false, signed: proof.checkpoint !== undefined, problem: "bad_inclusion_proof", sequence: proof.sequence, message });
  if (!holdsEvent(proof.canonical, proof.chainId, proof.eventId, proof.sequence)) {
    return bad(`Entry ${proof.sequence} of chain ${proof.chainId} does not hold event ${proof.eventId} (the proof was relabelled).`);
  }
  const leaf = entryLeafHash(proof.canonical);
  if (leaf.toString("hex") !== proof.leafHash) return bad(`Entry ${proof.sequence}: the leaf hash is not the hash of the entry's bytes.`);
  const path = proof.path.map((h) => Buffer.from(h, "hex"));
  if (!verifyInclusion(leaf, proof.sequence, proof.treeSize, path, Buffer.from(proof.rootHash, "hex"))) {
    return bad(`Entry ${proof.sequence}: the inclusion path does not lead to the root of the tree of ${proof.treeSize}.`);
  }
  const checkpoint = proof.checkpoint;
  if (checkpoint !== undefined) {
    if (checkpoint.size !== proof.treeSize || checkpoint.rootHash !== proof.rootHash || checkpoint.origin !== proof.chainId) {
      return bad(`Entry ${proof.sequence}: the proof's root is not the signed checkpoint's root.`);
    }
    const signed = await isCheckpointSigned(checkpoint, verifier);
    if (!signed) return { valid: false, signed: true, problem: "bad_checkpoint_signature", sequence: proof.sequence, message: `The checkpoint at size ${checkpoint.size} is not validly signed.` };
  }
  return {
    valid: true,
    signed: checkpoint !== undefined,
    sequence: proof.sequence,
    message:
      checkpoint === undefined
        ? `Entry ${proof.sequence} is included in the current tree of ${proof.treeSize} (no signed checkpoint covers it yet).`
        : `Entry ${proof.sequence} is included in the signed checkpoint of size ${checkpoint.size}.`,
  };
}
