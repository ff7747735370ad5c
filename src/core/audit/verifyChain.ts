import { type ChainHead } from "./AuditLedger.js";
import { canonicalJson, GENESIS_HASH, parseEntryBody, parseSequence, type StoredEntry } from "./ChainEntry.js";
import { type SignedCheckpoint } from "./checkpointNote.js";
import { sha256 } from "./hashing.js";
import { isCheckpointSigned } from "./isCheckpointSigned.js";
import { leafHash, MerkleAccumulator } from "./merkle.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { yieldToEventLoop } from "./yieldToEventLoop.js";

export const PROBLEM_KINDS = [
  "payload_edited",
  "hash_mismatch",
  "broken_link",
  "sequence_gap",
  "truncated_after_checkpoint",
  "reordered",
  "inserted",
  "rewritten_chain",
  "fork",
  "timestamp_changed",
  "bad_checkpoint_signature",
  "head_mismatch",
  "bad_inclusion_proof",
  "unreadable_checkpoint",
  "dedupe_mismatch",
  "untrusted_key",
  "invalid_key_pin",
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface VerifyResult {
  readonly intact: boolean;
  readonly chainId: string;
  readonly entriesChecked: number;
  readonly checkpointsChecked: number;
  readonly firstBadSequence?: number;
  /** For checkpoint problems: the size of the checkpoint at fault. */
  readonly checkpointSize?: number;
  readonly problem?: ProblemKind;
  readonly message: string;
  /** Leaf hashes of every entry, when asked for (the checkpointer needs them). */
  readonly leaves?: readonly Buffer[];
  /** The tree over the entries checked, when asked for (`trackTree`) and not empty: what the next checkpoint resumes from. */
  readonly tree?: { readonly size: number; readonly root: Buffer; readonly lastHash: string; readonly lastLeafProof: readonly Buffer[] };
}

/**
 * Where an incremental check starts: after the first `size` entries, whose last hash is `lastHash` and
 * whose tree has `lastLeafProof` as the inclusion proof of its last leaf (see CheckpointResume). The
 * caller must have checked both against a signed root.
 */
export interface ResumePoint {
  readonly size: number;
  readonly lastHash: string;
  readonly lastLeafProof: readonly Uint8Array[];
}

/** The tree's state at a resume point, ready for the next leaf. */
export function accumulatorAt(point: ResumePoint): MerkleAccumulator {
  return point.size === 0 ? new MerkleAccumulator() : MerkleAccumulator.resume(point.size, leafHash(Buffer.from(point.lastHash, "hex")), point.lastLeafProof);
}

export interface VerifyChainInput {
  readonly chainId: string;
  readonly head: ChainHead | null;
  /** The stored rows in row-key order. */
  readonly entries: AsyncIterable<StoredEntry>;
  readonly checkpoints: readonly SignedCheckpoint[];
  readonly signatureVerifier: SignatureVerifier;
  readonly collectLeaves?: boolean;
  /** Report the tree's root and its last leaf's inclusion proof. */
  readonly trackTree?: boolean;
  /**
   * Check only the entries from `resumeFrom.size` on (the rows given must start there): links continue from
   * its last hash and the tree from its right edge. Checkpoints must then be at `size` or later.
   */
  readonly resumeFrom?: ResumePoint;
  /** Called every `progressEvery` entries (default 10,000). */
  readonly onProgress?: (entriesChecked: number) => void;
  readonly progressEvery?: number;
  /**
   * Let the event loop turn every `yieldEvery` entries: a checkpoint runs inside an instance that also
   * serves requests, and checking a thousand entries in one pass held its loop for tens of ms.
   */
  readonly yieldEvery?: number;
  /** What a yield awaits (default: the event loop's next turn); the instance can make it wait for a gap between requests. */
  readonly yieldTo?: () => Promise<void>;
}

interface Failure {
  readonly problem: ProblemKind;
  readonly sequence?: number;
  readonly checkpointSize?: number;
  readonly message: string;
}

/** Checks one stored row in isolation (its bytes, hash, position and columns). */
function checkEntry(chainId: string, entry: StoredEntry, sequence: number, digest: Buffer): Failure | null {
  const body = parseEntryBody(entry.canonical);
  let recanonical: string | null = null;
  try {
    recanonical = body === null ? null : canonicalJson(body);
  } catch {
    recanonical = null;
  }
  if (body === null || recanonical !== entry.canonical) {
    return { problem: "payload_edited", sequence, message: `Entry ${sequence}: the stored bytes are not a canonical entry (edited payload).` };
  }
  if (digest.toString("hex") !== entry.hash) {
    return { problem: "payload_edited", sequence, message: `Entry ${sequence}: the stored bytes do not hash to the stored hash (payload or hash edited).` };
  }
  if (body.seq < sequence) {
    // Rows were shifted up by one or more: something was put in at body.seq and the rest renumbered.
    return { problem: "inserted", sequence: body.seq, message: `Entry ${sequence}: the row holds entry ${body.seq}, moved up: a row was inserted at ${body.seq} and the rest renumbered.` };
  }
  if (body.seq !== sequence) {
    return { problem: "reordered", sequence, message: `Entry ${sequence}: the row holds the entry for sequence ${body.seq} (rows reordered).` };
  }
  if (body.chain !== chainId) {
    return { problem: "inserted", sequence, message: `Entry ${sequence}: the row holds an entry of another chain (inserted).` };
  }
  if (body.ts !== entry.ts || body.event.ts !== entry.eventTs) {
    return { problem: "timestamp_changed", sequence, message: `Entry ${sequence}: the stored timestamp differs from the hashed one.` };
  }
  if (
    body.event.eventId !== entry.eventId ||
    body.event.type !== entry.type ||
    body.event.actor.id !== entry.actorId ||
    body.prev !== entry.prevHash ||
    body.event.project !== chainId
  ) {
    return { problem: "payload_edited", sequence, message: `Entry ${sequence}: the stored columns differ from the hashed event.` };
  }
  return null;
}

/**
 * Verifies a chain without trusting the writer: recomputes every hash from the stored canonical
 * bytes, checks the bytes re-canonicalise to themselves and agree with the stored columns, checks
 * sequence continuity from 0, every link, the head, and every checkpoint (signature, root over the
 * first `size` entries, entries present up to its size, agreement between checkpoints). Reports the
 * first problem found, by sequence number.
 */
export async function verifyChain(input: VerifyChainInput): Promise<VerifyResult> {
  const { chainId, head } = input;
  const checkpoints = [...input.checkpoints].sort((a, b) => a.size - b.size);
  const wantedSizes = new Set(checkpoints.map((c) => c.size));
  const computedRoots = new Map<number, string>();
  const resume = input.resumeFrom;
  const start = resume?.size ?? 0;
  if (checkpoints.some((c) => c.size < start)) throw new RangeError(`An incremental check from ${start} cannot check a checkpoint below it`);
  const accumulator = resume === undefined ? new MerkleAccumulator() : accumulatorAt(resume);
  const leaves: Buffer[] = [];
  const progressEvery = input.progressEvery ?? 10_000;
  if (wantedSizes.has(start)) computedRoots.set(start, accumulator.root().toString("hex"));

  let expected = start;
  let previousHash = resume?.lastHash ?? GENESIS_HASH;
  // A link that broke between entry `sequence - 1` and entry `sequence`: which side was rewritten is
  // decided by whether `sequence` is itself confirmed by its successor (or the head).
  let pendingBreak: { sequence: number; hash: string } | null = null;

  const fail = (failure: Failure, checked: number): VerifyResult => ({
    intact: false,
    chainId,
    entriesChecked: checked,
    checkpointsChecked: 0,
    problem: failure.problem,
    message: failure.message,
    ...(failure.sequence === undefined ? {} : { firstBadSequence: failure.sequence }),
    ...(failure.checkpointSize === undefined ? {} : { checkpointSize: failure.checkpointSize }),
  });
  const resolveBreak = (brk: { sequence: number; hash: string }, confirmed: boolean): Failure =>
    confirmed && resume !== undefined && brk.sequence === resume.size
      ? {
          problem: "rewritten_chain",
          sequence: brk.sequence - 1,
          checkpointSize: resume.size,
          message: `Entry ${brk.sequence} does not extend the signed checkpoint at size ${resume.size}: entries it covers were rewritten (run verify to find the first).`,
        }
      : confirmed
      ? {
          problem: "hash_mismatch",
          sequence: brk.sequence - 1,
          message: `Entry ${brk.sequence - 1}: its hash is not the one entry ${brk.sequence} recorded (entry rewritten and rehashed).`,
        }
      : { problem: "broken_link", sequence: brk.sequence, message: `Entry ${brk.sequence}: its previous hash does not match entry ${brk.sequence - 1}.` };

  for await (const entry of input.entries) {
    if (pendingBreak !== null) return fail(resolveBreak(pendingBreak, entry.prevHash === pendingBreak.hash), expected);
    const sequence = parseSequence(entry.rowKey);
    if (sequence === null) {
      return fail({ problem: "inserted", sequence: expected, message: `A row that is not a chain position was inserted before sequence ${expected}.` }, expected);
    }
    if (sequence > expected) {
      return fail({ problem: "sequence_gap", sequence: expected, message: `Entry ${expected} is missing (deleted).` }, expected);
    }
    if (sequence < expected) {
      return fail({ problem: "inserted", sequence, message: `Entry ${sequence} appears twice.` }, expected);
    }
    if (head !== null && sequence >= head.size) {
      return fail({ problem: "inserted", sequence, message: `Entry ${sequence} lies beyond the head (size ${head.size}): inserted.` }, expected);
    }
    const digest = sha256(entry.canonical);
    const failure = checkEntry(chainId, entry, sequence, digest);
    if (failure !== null) return fail(failure, expected);
    if (entry.prevHash !== previousHash) {
      if (sequence === 0) return fail({ problem: "broken_link", sequence: 0, message: "Entry 0 does not start from the genesis hash." }, expected);
      pendingBreak = { sequence, hash: entry.hash };
    }
    const leaf = leafHash(digest);
    accumulator.push(leaf);
    if (input.collectLeaves === true) leaves.push(leaf);
    previousHash = entry.hash;
    expected += 1;
    if (wantedSizes.has(expected)) computedRoots.set(expected, accumulator.root().toString("hex"));
    if (input.onProgress !== undefined && expected % progressEvery === 0) input.onProgress(expected);
    if (input.yieldEvery !== undefined && (expected - start) % input.yieldEvery === 0) await (input.yieldTo ?? yieldToEventLoop)();
  }
  if (pendingBreak !== null) {
    const confirmed = head !== null && head.size === pendingBreak.sequence + 1 && head.lastHash === pendingBreak.hash;
    return fail(resolveBreak(pendingBreak, confirmed), expected);
  }
  const count = expected;
  const checked = count - start;

  // Checkpoints: a bad signature means the note cannot be trusted at all.
  for (const checkpoint of checkpoints) {
    const ok = checkpoint.origin === chainId && (await isCheckpointSigned(checkpoint, input.signatureVerifier));
    if (!ok) {
      return fail(
        { problem: "bad_checkpoint_signature", checkpointSize: checkpoint.size, message: `The checkpoint at size ${checkpoint.size} does not carry a valid signature.` },
        count,
      );
    }
  }
  let lastMatching = 0;
  for (const [index, checkpoint] of checkpoints.entries()) {
    if (checkpoint.size > count) {
      return fail(
        {
          problem: "truncated_after_checkpoint",
          sequence: count,
          checkpointSize: checkpoint.size,
          message: `A signed checkpoint covers ${checkpoint.size} entries but only ${count} remain: entries from ${count} were deleted.`,
        },
        count,
      );
    }
    if (computedRoots.get(checkpoint.size) !== checkpoint.rootHash) {
      const later = checkpoints.slice(index + 1);
      const disagreeingTwin = checkpoints.some((c) => c !== checkpoint && c.size === checkpoint.size && c.rootHash !== checkpoint.rootHash);
      const laterMatches = later.some((c) => c.size <= count && computedRoots.get(c.size) === c.rootHash);
      const fork = disagreeingTwin || laterMatches;
      return fail(
        {
          problem: fork ? "fork" : "rewritten_chain",
          sequence: lastMatching,
          checkpointSize: checkpoint.size,
          message: fork
            ? `Signed checkpoints disagree: the one at size ${checkpoint.size} is not a prefix of a later one (the chain forked at or after ${lastMatching}).`
            : `The chain's first ${checkpoint.size} entries no longer match their signed checkpoint (chain rewritten at or after ${lastMatching}).`,
        },
        count,
      );
    }
    lastMatching = checkpoint.size;
  }

  if (head === null) {
    if (count > 0) return fail({ problem: "head_mismatch", sequence: 0, message: `The chain has ${count} entries but no head.` }, count);
  } else {
    if (head.size > count) {
      return fail({ problem: "sequence_gap", sequence: count, message: `The head records ${head.size} entries but entries from ${count} are missing.` }, count);
    }
    if (head.lastHash !== previousHash) {
      return fail({ problem: "head_mismatch", sequence: Math.max(0, count - 1), message: `The head's last hash does not match entry ${count - 1}.` }, count);
    }
  }
  return {
    intact: true,
    chainId,
    entriesChecked: checked,
    checkpointsChecked: checkpoints.length,
    message:
      start === 0
        ? `Chain ${chainId} is intact: ${count} entries, ${checkpoints.length} signed checkpoints.`
        : `Chain ${chainId}: entries ${start}..${count - 1} extend the signed checkpoint at ${start} intact.`,
    ...(input.collectLeaves === true ? { leaves } : {}),
    ...(input.trackTree === true && count > 0 ? { tree: { size: count, root: accumulator.root(), lastHash: previousHash, lastLeafProof: accumulator.lastLeafProof() } } : {}),
  };
}
