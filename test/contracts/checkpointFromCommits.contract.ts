import { createHmac, randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AuditAppender } from "../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, type AuditCheckpointerDeps, type CheckpointOptions } from "../../src/core/audit/AuditCheckpointer.js";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditLedger, type CommitBatch, type CommitResult, type LedgerHead, type LedgerOptions, type ListEntriesOptions } from "../../src/core/audit/AuditLedger.js";
import { type StoredEntry } from "../../src/core/audit/ChainEntry.js";
import { type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";
import { type CheckpointSigner } from "../../src/core/audit/CheckpointSigner.js";
import { sha256 } from "../../src/core/audit/hashing.js";
import { type SignatureVerifier } from "../../src/core/audit/SignatureVerifier.js";
import { verifyStoredChain } from "../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../src/core/clock.js";
import { type Logger, silentLogger } from "../../src/core/logger.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointAnchor } from "../fakes/InMemoryCheckpointAnchor.js";

/**
 * The checkpoint an appender signs from what it committed (AuditCheckpointer's `committed`, no read-back)
 * is the one the read path signs over the same stored chain, whatever happened to the chain: chunks of any
 * size, another writer appending between its deliveries or right before one of its commits (a conflict
 * mid-delivery), a commit whose answer was lost (then redelivered), a restart (nothing remembered), and
 * another process's read-path checkpoints. Run against every AuditLedger (in memory and Table Storage).
 */

/** A ledger that can lose a commit's answer, let another writer in right before a commit, and counts the rows read back. */
class ScriptedLedger implements AuditLedger {
  rowsRead = 0;
  /** Runs inside the next commit, before it reaches the store (another writer gets in first). */
  beforeNextCommit: (() => Promise<unknown>) | null = null;
  /** The next commit reaches the store, but its caller sees a failure (a timeout after the write). */
  loseNextAnswer = false;

  constructor(
    private readonly inner: AuditLedger,
    readonly maxEntriesPerCommit: number,
  ) {}

  getHead(chainId: string, options?: LedgerOptions): Promise<LedgerHead | null> {
    return this.inner.getHead(chainId, options);
  }

  findAppended(chainId: string, eventIds: readonly string[], options?: LedgerOptions): Promise<ReadonlyMap<string, number>> {
    return this.inner.findAppended(chainId, eventIds, options);
  }

  async commit(batch: CommitBatch, options?: LedgerOptions): Promise<CommitResult> {
    const before = this.beforeNextCommit;
    this.beforeNextCommit = null;
    await before?.();
    const result = await this.inner.commit(batch, options);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new Error("the commit's answer was lost");
    }
    return result;
  }

  async *listEntries(chainId: string, options?: ListEntriesOptions): AsyncIterable<StoredEntry> {
    for await (const entry of this.inner.listEntries(chainId, options)) {
      this.rowsRead += 1;
      yield entry;
    }
  }

  listChains(options?: LedgerOptions): AsyncIterable<LedgerHead> {
    return this.inner.listChains(options);
  }

  listDedupe(chainId: string, options?: LedgerOptions): AsyncIterable<{ readonly eventId: string; readonly sequence: number }> {
    return this.inner.listDedupe(chainId, options);
  }
}

/** A fast stand-in for Key Vault's ES256 (an HMAC of the digest): what is signed matters here, not how. */
function hmacKeys(): CheckpointSigner & SignatureVerifier {
  const secret = randomUUID();
  const keyId = "test://hmac/1";
  const mac = (digest: Uint8Array): Buffer => Buffer.concat([createHmac("sha256", secret).update(digest).digest(), Buffer.alloc(32)]);
  return {
    sign: async (digest) => ({ keyId, signature: mac(digest) }),
    verify: async (input) => input.keyId === keyId && mac(sha256(Buffer.from(input.message).toString("utf8"))).equals(Buffer.from(input.signature)),
  };
}

function copyOf(anchor: InMemoryCheckpointAnchor): InMemoryCheckpointAnchor {
  const copy = new InMemoryCheckpointAnchor();
  for (const [chain, notes] of anchor.notes) copy.notes.set(chain, structuredClone(notes));
  return copy;
}

const signedTree = (c: SignedCheckpoint) => ({ size: c.size, rootHash: c.rootHash, resume: c.resume });

interface Tally {
  /** Checkpoints given the appender's run. */
  withRun: number;
  /** ... of which read no entry back. */
  withoutReads: number;
  mismatches: string[];
}

/**
 * Signs as the appender asks (with its run), then signs again by the read path alone, over the same
 * stored chain and the checkpoints as they were before, and records any difference. The appender logs
 * and swallows a failed checkpoint, so differences are collected rather than thrown.
 */
class TwinCheckpointer extends AuditCheckpointer {
  constructor(
    private readonly twin: { deps: AuditCheckpointerDeps; store: AuditLedger; anchor: InMemoryCheckpointAnchor; ledger: ScriptedLedger; tally: Tally },
  ) {
    super(twin.deps);
  }

  override async checkpoint(chainId: string, options: CheckpointOptions = {}): Promise<SignedCheckpoint> {
    const { deps, store, anchor, ledger, tally } = this.twin;
    const before = copyOf(anchor);
    const rows = ledger.rowsRead;
    let signed: SignedCheckpoint;
    try {
      signed = await super.checkpoint(chainId, options);
    } catch (error) {
      tally.mismatches.push(`the checkpoint failed: ${String(error)}`);
      throw error;
    }
    if (options.committed !== undefined) {
      tally.withRun += 1;
      if (ledger.rowsRead === rows) tally.withoutReads += 1;
    }
    const read = await new AuditCheckpointer({ ...deps, ledger: store, anchor: before }).checkpoint(chainId);
    if (JSON.stringify(signedTree(read)) !== JSON.stringify(signedTree(signed))) {
      tally.mismatches.push(`at ${signed.size}: signed ${JSON.stringify(signedTree(signed))}, the read path ${JSON.stringify(signedTree(read))}`);
    }
    return signed;
  }
}

const failures = (tally: Tally): Logger => ({
  ...silentLogger,
  error: (event, fields) => {
    tally.mismatches.push(`${event} ${JSON.stringify(fields)}`);
  },
});

type Step =
  | { readonly kind: "ours"; readonly n: number }
  | { readonly kind: "foreign"; readonly n: number }
  | { readonly kind: "race"; readonly foreign: number; readonly n: number }
  | { readonly kind: "lost"; readonly n: number }
  | { readonly kind: "redeliver"; readonly n: number }
  | { readonly kind: "restart" }
  | { readonly kind: "nightly" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("ours" as const), n: fc.integer({ min: 1, max: 30 }) }) },
  fc.record({ kind: fc.constant("foreign" as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("race" as const), foreign: fc.integer({ min: 1, max: 5 }), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("lost" as const), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("redeliver" as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.constant({ kind: "restart" as const }),
  fc.constant({ kind: "nightly" as const }),
);

export const checkpointScenario = fc.record({
  steps: fc.array(step, { minLength: 1, maxLength: 12 }),
  chunk: fc.integer({ min: 1, max: 49 }),
  every: fc.integer({ min: 2, max: 40 }),
  byTime: fc.boolean(),
});

export interface CheckpointFromCommitsOptions {
  readonly numRuns: number;
}

export function describeCheckpointFromCommits(label: string, factory: () => Promise<AuditLedger>, options: CheckpointFromCommitsOptions): void {
  describe(`Checkpoint from the appender's commits: ${label}`, () => {
    it("signs the tree the read path signs over the same stored chain (foreign writers, conflicts, lost answers, restarts)", async () => {
      const store = await factory();
      const totals: Tally = { withRun: 0, withoutReads: 0, mismatches: [] };
      await fc.assert(
        fc.asyncProperty(checkpointScenario, async (scenario) => {
          const tally = await playScenario(store, scenario);
          totals.withRun += tally.withRun;
          totals.withoutReads += tally.withoutReads;
          expect(tally.mismatches).toEqual([]);
        }),
        { numRuns: options.numRuns },
      );
      // Not vacuous: most checkpoints had a run to use, and many read nothing back.
      expect(totals.withoutReads).toBeGreaterThan(0);
    });

    it("reads no entry back when only this appender writes, and signs what the read path signs", async () => {
      const tally = await playScenario(await factory(), { steps: [{ kind: "ours", n: 30 }, { kind: "ours", n: 45 }, { kind: "ours", n: 7 }], chunk: 10, every: 20, byTime: false });
      // Checkpoints at 30 (the chain's first), 75 and 82.
      expect(tally).toEqual({ withRun: 3, withoutReads: 3, mismatches: [] });
    });
  });
}

export async function playScenario(store: AuditLedger, scenario: { steps: readonly Step[]; chunk: number; every: number; byTime: boolean }): Promise<Tally> {
  const chainId = `chain-${randomUUID().slice(0, 8)}`;
  const tally: Tally = { withRun: 0, withoutReads: 0, mismatches: [] };
  const ledger = new ScriptedLedger(store, Math.min(scenario.chunk, store.maxEntriesPerCommit));
  const anchor = new InMemoryCheckpointAnchor();
  const keys = hmacKeys();
  const clock = new ManualClock();
  const deps: AuditCheckpointerDeps = { ledger: store, anchor, signer: keys, signatureVerifier: keys, clock, logger: silentLogger };
  const checkpointer = new TwinCheckpointer({ deps: { ...deps, ledger }, store, anchor, ledger, tally });
  const ours = (): AuditAppender =>
    new AuditAppender({ ledger, clock, logger: failures(tally), checkpointer, checkpointEvery: scenario.every, checkpointEveryInMs: scenario.byTime ? 1_000 : 0 });
  let appender = ours();
  const foreign = new AuditAppender({ ledger: store, clock, logger: silentLogger });
  const appended: AuditEvent[] = [];
  let index = 0;
  const fresh = (n: number): AuditEvent[] => Array.from({ length: n }, () => makeAuditEvent({ project: chainId }, index++));
  const deliver = async (to: AuditAppender, events: readonly AuditEvent[]): Promise<void> => {
    const outcomes = await to.append(events.map((body) => ({ body })));
    for (const outcome of outcomes) if (outcome.status === "invalid") tally.mismatches.push(`invalid: ${outcome.reason}`);
  };
  for (const s of scenario.steps) {
    if (s.kind === "ours") {
      const events = fresh(s.n);
      await deliver(appender, events);
      appended.push(...events);
    } else if (s.kind === "foreign") {
      const events = fresh(s.n);
      await deliver(foreign, events);
      appended.push(...events);
    } else if (s.kind === "race") {
      const theirs = fresh(s.foreign);
      const events = fresh(s.n);
      ledger.beforeNextCommit = () => deliver(foreign, theirs);
      await deliver(appender, events);
      appended.push(...theirs, ...events);
    } else if (s.kind === "lost") {
      const events = fresh(s.n);
      ledger.loseNextAnswer = true;
      await appender.append(events.map((body) => ({ body }))).catch(() => undefined);
      // The broker redelivers: the events committed before come back as duplicates.
      await deliver(appender, events);
      appended.push(...events);
    } else if (s.kind === "redeliver") {
      // Events appended before (by either writer) come again, with one new one.
      const extra = fresh(1);
      await deliver(appender, [...appended.slice(-s.n), ...extra]);
      appended.push(...extra);
    } else if (s.kind === "restart") {
      appender = ours();
    } else if ((await store.getHead(chainId)) !== null) {
      await new AuditCheckpointer(deps).checkpoint(chainId);
    }
    clock.advance(1_000);
  }
  const verified = await verifyStoredChain({ ledger: store, anchor, signatureVerifier: keys }, chainId);
  if (!verified.intact) tally.mismatches.push(`verify: ${verified.message}`);
  const stored: string[] = [];
  for await (const entry of store.listEntries(chainId)) stored.push(entry.eventId);
  if (stored.join() !== appended.map((e) => e.eventId).join()) tally.mismatches.push(`stored ${stored.length} events, appended ${appended.length} (or in another order)`);
  return tally;
}
