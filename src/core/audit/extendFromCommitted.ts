import { type AuditLedger, type ChainHead, type LedgerHead, type LedgerOptions } from "./AuditLedger.js";
import { type SignedCheckpoint } from "./checkpointNote.js";
import { type CommittedRun } from "./CommittedRuns.js";
import { isCheckpointSigned } from "./isCheckpointSigned.js";
import { leafHash } from "./merkle.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { accumulatorAt, type ResumePoint, verifyChain } from "./verifyChain.js";

/** The tree a checkpoint signs. */
export interface CheckpointTree {
  readonly size: number;
  readonly root: Buffer;
  readonly lastHash: string;
  readonly lastLeafProof: readonly Buffer[];
}

export interface ExtendFromCommittedInput {
  readonly chainId: string;
  readonly ledger: AuditLedger;
  readonly signatureVerifier: SignatureVerifier;
  readonly head: LedgerHead;
  /** The latest checkpoint, null when there is none yet. */
  readonly latest: SignedCheckpoint | null;
  /** Where the latest checkpoint's tree ends (its `resume`, already proved by its root), or the empty tree. */
  readonly base: ResumePoint;
  readonly committed: CommittedRun;
  /** Rows per page and entries per slice for a range that is read back, as the read path uses. */
  readonly pageSize: number;
  readonly yieldEvery: number;
  readonly yieldTo: () => Promise<void>;
  readonly options: LedgerOptions;
}

/** Leaves pushed from known hashes between two yields (~2 µs each). */
const HASH_SLICE = 250;

/**
 * The tree over [0, head.size) built from the latest checkpoint's tree and the entry hashes the caller's
 * appender committed, without reading those entries back: they are exactly what its ETag-conditional
 * commits wrote. A range it did not write (another writer's, or one before its run began) is read and
 * checked as the read path checks it (verifyChain over that range only), so the tree is the one the read
 * path would sign over the same stored chain. Null whenever the run does not fit (it does not link to the
 * latest checkpoint's last entry or to the range read before it, does not end at the head, or a range read
 * does not verify): the caller then takes the read path, which signs or reports as it always has.
 */
export async function extendFromCommitted(input: ExtendFromCommittedInput): Promise<CheckpointTree | null> {
  const { head, base, committed: run } = input;
  const runEnd = run.from + run.hashes.length;
  if (run.hashes.length === 0 || head.size <= base.size || runEnd <= base.size || run.from >= head.size) return null;
  if (input.latest !== null && !(input.latest.origin === input.chainId && (await isCheckpointSigned(input.latest, input.signatureVerifier)))) return null;
  const hashAt = (sequence: number): string => (sequence === run.from - 1 ? run.prevHash : (run.hashes[sequence - run.from] as string));

  // Entries between the latest checkpoint and the run: read, checked, and linked to the run's first.
  let point: ResumePoint = base;
  if (run.from > base.size) {
    const before = await readRange(input, point, { chainId: input.chainId, size: run.from, lastHash: run.prevHash, updatedAt: head.updatedAt });
    if (before === null) return null;
    point = before;
  } else if (hashAt(base.size - 1) !== base.lastHash) {
    return null;
  }

  // The run's own entries: leaves from the committed hashes.
  const accumulator = accumulatorAt(point);
  const end = Math.min(head.size, runEnd);
  for (let sequence = point.size; sequence < end; sequence += 1) {
    accumulator.push(leafHash(Buffer.from(hashAt(sequence), "hex")));
    if ((sequence - point.size + 1) % HASH_SLICE === 0) await input.yieldTo();
  }
  const last = { size: end, lastHash: hashAt(end - 1), lastLeafProof: accumulator.lastLeafProof() };
  if (head.size === end) return head.lastHash === last.lastHash ? { ...last, root: accumulator.root() } : null;

  // Entries after the run (another writer's): read and checked up to the head.
  return readRange(input, last, head);
}

/** Reads and checks the entries from `from` to `to`'s size, as the read path does; null when they do not verify. */
async function readRange(input: ExtendFromCommittedInput, from: ResumePoint, to: ChainHead): Promise<CheckpointTree | null> {
  const result = await verifyChain({
    chainId: input.chainId,
    head: to,
    entries: input.ledger.listEntries(input.chainId, { fromSequence: from.size, toSequence: to.size, pageSize: input.pageSize, ...input.options }),
    checkpoints: [],
    signatureVerifier: input.signatureVerifier,
    resumeFrom: from,
    trackTree: true,
    yieldEvery: input.yieldEvery,
    yieldTo: input.yieldTo,
  });
  return result.intact && result.tree !== undefined ? result.tree : null;
}
