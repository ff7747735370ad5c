import { type AuditLedger } from "./AuditLedger.js";
import { type CheckpointAnchor } from "./CheckpointAnchor.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { type StoredEntry } from "./ChainEntry.js";
import { type SignedCheckpoint } from "./checkpointNote.js";
import { verifyChain, type VerifyResult } from "./verifyChain.js";

export interface VerifyStoredChainDeps {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly signatureVerifier: SignatureVerifier;
  /**
   * The key versions a note may be signed by (pinned trust, or an auditor's keys). A note signed by any
   * other version is `untrusted_key`, named. Absent: whatever the verifier accepts (the opt-out).
   */
  readonly trustedKeyIds?: ReadonlySet<string>;
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
    // Every note counts: one that cannot be read or parsed is a failure, never skipped.
    const checkpoints: SignedCheckpoint[] = [];
    for await (const note of deps.anchor.listNotes(chainId, signal)) {
      if ("checkpoint" in note) {
        const { keyId, size } = note.checkpoint;
        if (deps.trustedKeyIds !== undefined && !deps.trustedKeyIds.has(keyId)) {
          return {
            intact: false,
            chainId,
            entriesChecked: 0,
            checkpointsChecked: checkpoints.length,
            problem: "untrusted_key",
            checkpointSize: size,
            message: `The checkpoint at size ${size} is signed by key version ${keyId}, which is not a trusted (pinned) version: it may have been re-signed with a key added to the vault.`,
          };
        }
        checkpoints.push(note.checkpoint);
        continue;
      }
      return {
        intact: false,
        chainId,
        entriesChecked: 0,
        checkpointsChecked: checkpoints.length,
        problem: "unreadable_checkpoint",
        ...(note.size === null ? {} : { checkpointSize: note.size }),
        message: `A checkpoint note cannot be read or verified (${note.unreadable}): the anchored evidence was damaged.`,
      };
    }
    const seen: { eventId: string; sequence: string }[] = [];
    const entries = (async function* (): AsyncIterable<StoredEntry> {
      for await (const entry of deps.ledger.listEntries(chainId, signal)) {
        seen.push({ eventId: entry.eventId, sequence: entry.rowKey });
        yield entry;
      }
    })();
    const result = await verifyChain({
      chainId,
      head,
      entries,
      checkpoints,
      signatureVerifier: deps.signatureVerifier,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    const checked = result.intact ? await checkDedupeRows(deps.ledger, chainId, seen, result, signal) : result;
    if (checked.intact || attempt >= maxAttempts) return checked;
    const again = await deps.ledger.getHead(chainId, signal);
    if (again?.etag === head?.etag) return checked;
  }
}

/**
 * The dedupe rows must mirror the entries one for one: a missing one would let a redelivered event be
 * appended twice, and a forged one makes `palisade audit prove` point an invented event id at an entry.
 */
async function checkDedupeRows(ledger: AuditLedger, chainId: string, entries: readonly { eventId: string; sequence: string }[], result: VerifyResult, signal: { abortSignal?: AbortSignal }): Promise<VerifyResult> {
  const bySequence = new Map(entries.map((e) => [Number(e.sequence), e.eventId]));
  const rows = new Map<string, number>();
  const mismatch = (sequence: number, message: string): VerifyResult => ({ ...result, intact: false, problem: "dedupe_mismatch", firstBadSequence: sequence, message });
  for await (const row of ledger.listDedupe(chainId, signal)) {
    if (bySequence.get(row.sequence) !== row.eventId) {
      return mismatch(Math.max(0, row.sequence), `A dedupe row says event ${row.eventId} is entry ${row.sequence}, which holds another event (forged dedupe row).`);
    }
    rows.set(row.eventId, row.sequence);
  }
  for (const [sequence, eventId] of bySequence) {
    if (rows.get(eventId) !== sequence) return mismatch(sequence, `Entry ${sequence} has no dedupe row (deleted): a redelivery of its event would be appended twice.`);
  }
  return result;
}
