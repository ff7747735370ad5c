import { randomBytes } from "node:crypto";
import { type AuditLedger } from "../../src/core/audit/AuditLedger.js";
import { AuditCheckpointer } from "../../src/core/audit/AuditCheckpointer.js";
import { type AnchoredNote, type CheckpointAnchor, type PutCheckpointResult } from "../../src/core/audit/CheckpointAnchor.js";
import { type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";
import { type CheckpointSigner } from "../../src/core/audit/CheckpointSigner.js";
import { type SignatureVerifier } from "../../src/core/audit/SignatureVerifier.js";
import { silentLogger } from "../../src/core/logger.js";

/** Checkpoints kept in this process (the anchor's blob round trips are not the append's CPU). */
class MemoryAnchor implements CheckpointAnchor {
  private readonly byChain = new Map<string, SignedCheckpoint[]>();

  async put(checkpoint: SignedCheckpoint): Promise<PutCheckpointResult> {
    const list = this.byChain.get(checkpoint.origin) ?? [];
    if (list.some((c) => c.size === checkpoint.size)) return "exists";
    list.push(checkpoint);
    list.sort((a, b) => a.size - b.size);
    this.byChain.set(checkpoint.origin, list);
    return "stored";
  }

  async *list(chainId: string): AsyncIterable<SignedCheckpoint> {
    yield* this.byChain.get(chainId) ?? [];
  }

  async getLatest(chainId: string): Promise<SignedCheckpoint | null> {
    return this.byChain.get(chainId)?.at(-1) ?? null;
  }

  async *listNotes(chainId: string): AsyncIterable<AnchoredNote> {
    for (const checkpoint of this.byChain.get(chainId) ?? []) yield { size: checkpoint.size, checkpoint };
  }
}

/**
 * The checkpointer the deployed appender runs (AuditCheckpointer over the real ledger: given the
 * appender's run it reads back only entries another writer appended, called without one it reads the
 * new entries back and checks them), with the anchor in memory and a stand-in for Key Vault's
 * signature: in Azure the vault signs on its own machines, and the local emulator's BigInt ECDSA takes
 * 1-13 ms of this thread per signature, which would show as the append's. The stand-in "signs" with
 * one fixed value that its verifier alone accepts (a real check is ~0.1 ms once per checkpoint).
 */
export function benchCheckpointer(ledger: AuditLedger, yieldToEventLoop?: () => Promise<void>): { readonly checkpointer: AuditCheckpointer; readonly signed: () => number; readonly signer: CheckpointSigner & SignatureVerifier } {
  const keyId = "bench://checkpoint-key/1";
  const signature = randomBytes(64);
  let signed = 0;
  const signer: CheckpointSigner & SignatureVerifier = {
    sign: async () => {
      signed += 1;
      return { keyId, signature };
    },
    verify: async (input) => input.keyId === keyId && signature.equals(input.signature),
  };
  const checkpointer = new AuditCheckpointer({
    ledger,
    anchor: new MemoryAnchor(),
    signer,
    signatureVerifier: signer,
    clock: { nowInMs: () => Date.now() },
    logger: silentLogger,
    ...(yieldToEventLoop === undefined ? {} : { yieldToEventLoop }),
  });
  return { checkpointer, signed: () => signed, signer };
}
