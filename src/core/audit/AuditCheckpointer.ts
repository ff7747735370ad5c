import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type AuditLedger, type LedgerHead } from "./AuditLedger.js";
import { AuditIntegrityError } from "./AuditIntegrityError.js";
import { GENESIS_HASH } from "./ChainEntry.js";
import { type CheckpointAnchor } from "./CheckpointAnchor.js";
import { checkpointNoteText, type SignedCheckpoint } from "./checkpointNote.js";
import { type CheckpointSigner } from "./CheckpointSigner.js";
import { type CommittedRun } from "./CommittedRuns.js";
import { type CheckpointTree, extendFromCommitted } from "./extendFromCommitted.js";
import { sha256 } from "./hashing.js";
import { consistencyProof, leafHash, verifyConsistency, verifyInclusion } from "./merkle.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";
import { type ResumePoint, verifyChain, type VerifyResult } from "./verifyChain.js";
import { yieldToEventLoop } from "./yieldToEventLoop.js";

export interface AuditCheckpointerDeps {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly signer: CheckpointSigner;
  readonly signatureVerifier: SignatureVerifier;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Awaited between slices of the entries' check (default: the event loop's next turn). The instance
   * that serves requests makes it wait, bounded, for a moment with none in flight (composition/audit.ts).
   */
  readonly yieldToEventLoop?: () => Promise<void>;
}

export interface CheckpointOptions {
  readonly abortSignal?: AbortSignal;
  /**
   * The entry hashes the caller's appender committed since the chain's latest checkpoint (AuditAppender):
   * the entries they cover are not read back (extendFromCommitted). Without it, or when it does not fit
   * the chain as found, the new entries are read and checked.
   */
  readonly committed?: CommittedRun;
}

type Tree = CheckpointTree;

/** The tree before the first entry: where the first checkpoint of a chain starts. */
const EMPTY_TREE: ResumePoint = { size: 0, lastHash: GENESIS_HASH, lastLeafProof: [] };

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * A checkpoint runs in the instance that serves requests: its entries are read in pages of this many
 * rows and checked in slices of YIELD_EVERY, so no page's decoding or slice's hashing holds the loop
 * for long (a single page of 1,000 held it for tens of ms at 200 req/s; slices of 100 still took
 * 4-9 ms of a busy turn there, ~40 µs per entry checked: docs/benchmarks.md).
 */
const CHECKPOINT_PAGE_SIZE = 100;
const YIELD_EVERY = 25;

/**
 * Where the next checkpoint can start, from the latest one's `resume` state — only if that state is
 * proved by the latest checkpoint's root (RFC 6962 inclusion of the last leaf). Null: read from 0.
 */
export function resumePointOf(latest: SignedCheckpoint): ResumePoint | null {
  const resume = latest.resume;
  if (resume === undefined || latest.size < 1 || !HEX_HASH.test(resume.lastEntryHash)) return null;
  // Read from storage: check the shape before use.
  const hashes: unknown = resume.lastLeafProof;
  if (!Array.isArray(hashes)) return null;
  const proof: Buffer[] = [];
  for (const hash of hashes as unknown[]) {
    if (typeof hash !== "string" || !HEX_HASH.test(hash)) return null;
    proof.push(Buffer.from(hash, "hex"));
  }
  const leaf = leafHash(Buffer.from(resume.lastEntryHash, "hex"));
  if (!verifyInclusion(leaf, latest.size - 1, latest.size, proof, Buffer.from(latest.rootHash, "hex"))) return null;
  return { size: latest.size, lastHash: resume.lastEntryHash, lastLeafProof: proof };
}

/**
 * Signs a checkpoint over the chain as it stands; a chain inconsistent with what was signed before is
 * never signed (AuditIntegrityError, nothing written).
 *
 * Incremental: the latest checkpoint carries the tree's right edge and last entry hash (`resume`),
 * proved by its signed root. The checkpointer then reads and checks only the entries after it: each
 * one's bytes, hash, position and columns, the link from the signed last entry, and the head. The new
 * tree extends the signed one by construction, so it is consistent with it. Entries before the latest
 * checkpoint are not read again: if they were rewritten since, the new checkpoint still signs the true
 * history and `verify` reports the rewrite.
 *
 * Full (no checkpoint yet, or one without a usable `resume`): verifies the whole chain against the head
 * and every earlier checkpoint, and checks an RFC 6962 consistency proof from the latest one.
 *
 * From the appender's commits (`committed`, AuditAppender's checkpoints only): the entries its own
 * ETag-conditional commits wrote since the latest checkpoint are not read back; the tree is extended from
 * the hashes it computed and committed (extendFromCommitted). Any other range is read and checked as above,
 * and anything that does not fit falls back to the read path, so the tree is the one it would sign.
 */
export class AuditCheckpointer {
  constructor(private readonly deps: AuditCheckpointerDeps) {}

  async checkpoint(chainId: string, { committed, ...options }: CheckpointOptions = {}): Promise<SignedCheckpoint> {
    const { ledger, anchor, logger } = this.deps;
    const head = await ledger.getHead(chainId, options);
    if (head === null || head.size === 0) throw new AuditIntegrityError("no_chain", `Chain ${chainId} has no entries to checkpoint.`);
    const latest = await anchor.getLatest(chainId, options);
    const resume = latest === null ? null : resumePointOf(latest);
    if (latest !== null && resume === null) logger.warn("audit.checkpoint.full_read", { chainId, latestSize: latest.size });
    const base = latest === null ? EMPTY_TREE : resume;
    const known = committed === undefined || base === null || head.size <= base.size ? null : await this.fromCommitted(chainId, head, latest, base, committed, options);
    const tree = known ?? (latest !== null && resume !== null ? await this.extend(chainId, head, latest, resume, options) : await this.full(chainId, head, options));
    if (tree === "unchanged") return latest as SignedCheckpoint;
    return this.signAndAnchor(chainId, tree, options);
  }

  /** Continues the signed tree with the hashes the caller committed; null: take the read path. */
  private async fromCommitted(chainId: string, head: LedgerHead, latest: SignedCheckpoint | null, base: ResumePoint, committed: CommittedRun, options: CheckpointOptions): Promise<Tree | null> {
    const { ledger, signatureVerifier, logger } = this.deps;
    const tree = await extendFromCommitted({
      chainId,
      ledger,
      signatureVerifier,
      head,
      latest,
      base,
      committed,
      pageSize: CHECKPOINT_PAGE_SIZE,
      yieldEvery: YIELD_EVERY,
      yieldTo: this.deps.yieldToEventLoop ?? yieldToEventLoop,
      options,
    });
    // Not an error: the read path decides (another writer's checkpoint passed the run, a restart, a conflict).
    if (tree === null) logger.info("audit.checkpoint.read_back", { chainId, headSize: head.size, latestSize: latest?.size ?? 0, from: committed.from, hashes: committed.hashes.length });
    return tree;
  }

  /** Checks the entries after `latest` only, continuing its signed tree. */
  private async extend(chainId: string, head: LedgerHead, latest: SignedCheckpoint, resume: ResumePoint, options: CheckpointOptions): Promise<Tree | "unchanged"> {
    const { ledger, signatureVerifier } = this.deps;
    if (head.size < latest.size) {
      throw new AuditIntegrityError(
        "truncated_after_checkpoint",
        `Refusing to sign: the head records ${head.size} entries but a signed checkpoint covers ${latest.size}.`,
        head.size,
      );
    }
    const result = await verifyChain({
      chainId,
      head,
      entries: ledger.listEntries(chainId, { fromSequence: latest.size, toSequence: head.size, pageSize: CHECKPOINT_PAGE_SIZE, ...options }),
      checkpoints: [latest],
      signatureVerifier,
      resumeFrom: resume,
      trackTree: true,
      yieldEvery: YIELD_EVERY,
      ...(this.deps.yieldToEventLoop === undefined ? {} : { yieldTo: this.deps.yieldToEventLoop }),
    });
    const tree = this.treeOf(chainId, result);
    return tree.size === latest.size ? "unchanged" : tree;
  }

  private async full(chainId: string, head: LedgerHead, options: CheckpointOptions): Promise<Tree | "unchanged"> {
    const { ledger, anchor, signatureVerifier } = this.deps;
    const earlier = await collect(anchor.list(chainId, options));
    const result = await verifyChain({
      chainId,
      head,
      entries: ledger.listEntries(chainId, { toSequence: head.size, pageSize: CHECKPOINT_PAGE_SIZE, ...options }),
      checkpoints: earlier,
      signatureVerifier,
      collectLeaves: true,
      trackTree: true,
      yieldEvery: YIELD_EVERY,
      ...(this.deps.yieldToEventLoop === undefined ? {} : { yieldTo: this.deps.yieldToEventLoop }),
    });
    const tree = this.treeOf(chainId, result);
    const leaves = result.leaves ?? [];
    const latest = earlier.at(-1);
    if (latest !== undefined) {
      const proof = consistencyProof(leaves, latest.size);
      if (!verifyConsistency(latest.size, leaves.length, Buffer.from(latest.rootHash, "hex"), tree.root, proof)) {
        throw new AuditIntegrityError("fork", `Refusing to sign: the tree of ${leaves.length} is not consistent with the checkpoint at ${latest.size}.`, latest.size);
      }
      if (latest.size === leaves.length) return "unchanged";
    }
    return tree;
  }

  private treeOf(chainId: string, result: VerifyResult): Tree {
    if (!result.intact || result.tree === undefined) {
      this.deps.logger.error("audit.checkpoint.refused", { chainId, problem: result.problem ?? null, firstBadSequence: result.firstBadSequence ?? null });
      throw new AuditIntegrityError(result.problem ?? "head_mismatch", `Refusing to sign a checkpoint: ${result.message}`, result.firstBadSequence);
    }
    return result.tree;
  }

  private async signAndAnchor(chainId: string, tree: Tree, options: CheckpointOptions): Promise<SignedCheckpoint> {
    const { anchor, signer, clock, logger } = this.deps;
    const body = { origin: chainId, size: tree.size, rootHash: tree.root.toString("hex"), timestamp: new Date(clock.nowInMs()).toISOString() };
    const digest = sha256(checkpointNoteText(body));
    const signed = await signer.sign(digest, options);
    const checkpoint: SignedCheckpoint = {
      ...body,
      keyId: signed.keyId,
      algorithm: "ES256",
      signature: Buffer.from(signed.signature).toString("base64"),
      resume: { lastEntryHash: tree.lastHash, lastLeafProof: tree.lastLeafProof.map((h) => h.toString("hex")) },
    };
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
