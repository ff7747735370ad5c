import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type AuditLedger } from "./AuditLedger.js";
import { AuditIntegrityError } from "./AuditIntegrityError.js";
import { type CheckpointAnchor } from "./CheckpointAnchor.js";
import { checkpointNoteText, type SignedCheckpoint } from "./checkpointNote.js";
import { type CheckpointSigner } from "./CheckpointSigner.js";
import { sha256 } from "./hashing.js";
import { consistencyProof, merkleRoot, verifyConsistency } from "./merkle.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { verifyChain } from "./verifyChain.js";

export interface AuditCheckpointerDeps {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly signer: CheckpointSigner;
  readonly signatureVerifier: SignatureVerifier;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface CheckpointOptions {
  readonly abortSignal?: AbortSignal;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Signs a checkpoint over the chain as it stands. Before signing it verifies the whole chain
 * against the head and every earlier checkpoint, and checks an RFC 6962 consistency proof from the
 * latest checkpoint to the new tree: a chain that is inconsistent with what was signed before is
 * never signed (AuditIntegrityError, nothing written).
 */
export class AuditCheckpointer {
  constructor(private readonly deps: AuditCheckpointerDeps) {}

  async checkpoint(chainId: string, options: CheckpointOptions = {}): Promise<SignedCheckpoint> {
    const { ledger, anchor, signer, signatureVerifier, clock, logger } = this.deps;
    const head = await ledger.getHead(chainId, options);
    if (head === null || head.size === 0) throw new AuditIntegrityError("no_chain", `Chain ${chainId} has no entries to checkpoint.`);
    const earlier = await collect(anchor.list(chainId, options));
    const result = await verifyChain({
      chainId,
      head,
      entries: ledger.listEntries(chainId, { toSequence: head.size, ...options }),
      checkpoints: earlier,
      signatureVerifier,
      collectLeaves: true,
    });
    if (!result.intact || result.leaves === undefined) {
      logger.error("audit.checkpoint.refused", { chainId, problem: result.problem ?? null, firstBadSequence: result.firstBadSequence ?? null });
      throw new AuditIntegrityError(result.problem ?? "head_mismatch", `Refusing to sign a checkpoint: ${result.message}`, result.firstBadSequence);
    }
    const leaves = result.leaves;
    const root = merkleRoot(leaves);
    const latest = earlier.at(-1);
    if (latest !== undefined) {
      const proof = consistencyProof(leaves, latest.size);
      if (!verifyConsistency(latest.size, leaves.length, Buffer.from(latest.rootHash, "hex"), root, proof)) {
        throw new AuditIntegrityError("fork", `Refusing to sign: the tree of ${leaves.length} is not consistent with the checkpoint at ${latest.size}.`, latest.size);
      }
      if (latest.size === leaves.length) return latest;
    }
    const body = { origin: chainId, size: leaves.length, rootHash: root.toString("hex"), timestamp: new Date(clock.nowInMs()).toISOString() };
    const digest = sha256(checkpointNoteText(body));
    const signed = await signer.sign(digest, options);
    const checkpoint: SignedCheckpoint = { ...body, keyId: signed.keyId, algorithm: "ES256", signature: Buffer.from(signed.signature).toString("base64") };
    const stored = await anchor.put(checkpoint, options);
    if (stored === "exists") {
      // Another writer checkpointed the same size first: fine if it signed the same root.
      const same = (await collect(anchor.list(chainId, options))).find((c) => c.size === checkpoint.size);
      if (same === undefined || same.rootHash !== checkpoint.rootHash) {
        throw new AuditIntegrityError("fork", `Another checkpoint at size ${checkpoint.size} has a different root.`, checkpoint.size);
      }
      return same;
    }
    logger.info("audit.checkpoint.signed", { chainId, size: checkpoint.size });
    return checkpoint;
  }
}
