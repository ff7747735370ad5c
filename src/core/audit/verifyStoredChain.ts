import { type AuditLedger } from "./AuditLedger.js";
import { collect } from "./AuditCheckpointer.js";
import { type CheckpointAnchor } from "./CheckpointAnchor.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { verifyChain, type VerifyResult } from "./verifyChain.js";

export interface VerifyStoredChainDeps {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly signatureVerifier: SignatureVerifier;
}

export interface VerifyStoredChainOptions {
  readonly onProgress?: (entriesChecked: number) => void;
  readonly abortSignal?: AbortSignal;
  /** Re-reads when the head moved during the read (a live writer), at most this many times. */
  readonly maxAttempts?: number;
}

/**
 * Reads a chain (head, every stored row, every anchored checkpoint) and verifies it. A live writer
 * can append between reading the head and the rows, which would look like inserted rows: the head
 * is re-read and, if it moved, the check is repeated.
 */
export async function verifyStoredChain(deps: VerifyStoredChainDeps, chainId: string, options: VerifyStoredChainOptions = {}): Promise<VerifyResult> {
  const signal = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt += 1) {
    const head = await deps.ledger.getHead(chainId, signal);
    const checkpoints = await collect(deps.anchor.list(chainId, signal));
    const result = await verifyChain({
      chainId,
      head,
      entries: deps.ledger.listEntries(chainId, signal),
      checkpoints,
      signatureVerifier: deps.signatureVerifier,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    if (result.intact || attempt >= maxAttempts) return result;
    const again = await deps.ledger.getHead(chainId, signal);
    if (again?.etag === head?.etag) return result;
  }
}
