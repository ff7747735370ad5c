import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, collect } from "../../../src/core/audit/AuditCheckpointer.js";
import { isAuditIntegrityError } from "../../../src/core/audit/AuditIntegrityError.js";
import { createEntry, entryLeafHash, formatSequence, GENESIS_HASH } from "../../../src/core/audit/ChainEntry.js";
import { checkpointNoteText, type SignedCheckpoint } from "../../../src/core/audit/checkpointNote.js";
import { type ListEntriesOptions } from "../../../src/core/audit/AuditLedger.js";
import { leafHash, merkleRoot } from "../../../src/core/audit/merkle.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { loopTurnsDuring } from "../../support/loopTurns.js";
import { RequestsInFlight, giveWayToRequests } from "../../../src/composition/requestsInFlight.js";

/** Records which rows each listEntries call asked for and how many it yielded. */
function recordReads(ledger: InMemoryAuditLedger) {
  const reads: { from: number; rows: number }[] = [];
  const listEntries = ledger.listEntries.bind(ledger);
  ledger.listEntries = async function* (chainId: string, options: ListEntriesOptions = {}) {
    const read = { from: options.fromSequence ?? 0, rows: 0 };
    reads.push(read);
    for await (const entry of listEntries(chainId, options)) {
      read.rows += 1;
      yield entry;
    }
  };
  return reads;
}

async function setup(size: number) {
  const ledger = new InMemoryAuditLedger();
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const clock = new ManualClock();
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const append = (n: number) => appender.append(makeAuditEvents(n, { project: "a" }).map((body) => ({ body })));
  await append(size);
  return { ledger, anchor, signer, checkpointer, append };
}

describe("AuditCheckpointer", () => {
  it("signs an RFC 6962 root over the chain and anchors it", async () => {
    const { ledger, anchor, signer, checkpointer } = await setup(7);
    const cp = await checkpointer.checkpoint("a");
    const leaves = (await collect(ledger.listEntries("a"))).map((e) => entryLeafHash(e.canonical));
    expect(cp).toMatchObject({ origin: "a", size: 7, rootHash: merkleRoot(leaves).toString("hex"), keyId: signer.keyId, algorithm: "ES256" });
    expect(await signer.verifier().verify({ keyId: cp.keyId, message: Buffer.from(checkpointNoteText(cp)), signature: Buffer.from(cp.signature, "base64") })).toBe(true);
    expect(await anchor.getLatest("a")).toEqual(cp);
  });

  it("lets the event loop turn every 25 entries it checks (it runs in the instance that serves requests)", async () => {
    const { checkpointer, append } = await setup(10);
    await checkpointer.checkpoint("a");
    await append(200);
    // The fake ledger and signer answer in microtasks: every turn seen here is one the checkpoint gave.
    const { result: cp, turns } = await loopTurnsDuring(() => checkpointer.checkpoint("a"));
    expect(cp.size).toBe(210);
    expect(turns).toBeGreaterThanOrEqual(8);
  });

  it("checks one slice at a time between requests: with a request in flight it stops after 25 entries until the request ends", async () => {
    const { ledger, anchor, signer, append } = await setup(10);
    const requests = new RequestsInFlight();
    const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock: new ManualClock(), logger: silentLogger, yieldToEventLoop: giveWayToRequests(10_000, requests) });
    await checkpointer.checkpoint("a");
    await append(200);
    const reads = recordReads(ledger);
    requests.started();
    let done = false;
    const checkpoint = checkpointer.checkpoint("a").then((cp) => {
      done = true;
      return cp;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(done).toBe(false);
    expect(reads.reduce((rows, read) => rows + read.rows, 0)).toBeLessThanOrEqual(26);
    requests.ended();
    expect((await checkpoint).size).toBe(210);
  });

  it("returns the latest checkpoint when nothing was appended since", async () => {
    const { signer, checkpointer } = await setup(3);
    const first = await checkpointer.checkpoint("a");
    expect(await checkpointer.checkpoint("a")).toEqual(first);
    expect(signer.signCount).toBe(1);
  });

  it("never signs a chain inconsistent with an earlier checkpoint", async () => {
    const { ledger, anchor, signer, checkpointer, append } = await setup(6);
    await checkpointer.checkpoint("a");
    await append(4);
    // Rewrite entries 2.. consistently (rehash and relink): links and head look fine.
    const chain = ledger.chains.get("a")!;
    let prev = chain.rows.get(formatSequence(1))!.hash;
    for (let seq = 2; seq < 10; seq += 1) {
      const entry = createEntry({ chainId: "a", sequence: seq, ts: "2026-01-01T00:00:00.000Z", prevHash: prev, event: makeAuditEvents(1, { project: "a" })[0]! });
      chain.rows.set(entry.rowKey, entry);
      prev = entry.hash;
    }
    chain.head = { ...chain.head!, lastHash: prev };
    const error: unknown = await checkpointer.checkpoint("a").catch((e: unknown) => e);
    expect(isAuditIntegrityError(error) && error.problem).toBe("rewritten_chain");
    expect(signer.signCount).toBe(1);
    expect((await collect(anchor.list("a"))).map((c) => c.size)).toEqual([6]);
  });

  it("refuses an empty or unknown chain", async () => {
    const { checkpointer } = await setup(0);
    await expect(checkpointer.checkpoint("nobody")).rejects.toMatchObject({ problem: "no_chain" });
    expect(GENESIS_HASH).toHaveLength(64);
  });

  it("a later checkpoint reads only the entries since the latest one and signs the root over the whole chain", async () => {
    const { ledger, anchor, signer, checkpointer, append } = await setup(10);
    const first = await checkpointer.checkpoint("a");
    expect(first.resume?.lastLeafProof).toHaveLength(2); // the right edge of 9 leaves: subtrees of 8 and 1
    await append(7);
    const reads = recordReads(ledger);
    const second = await checkpointer.checkpoint("a");
    expect(reads).toEqual([{ from: 10, rows: 7 }]);
    const leaves = (await collect(ledger.listEntries("a"))).map((e) => entryLeafHash(e.canonical));
    expect(second).toMatchObject({ size: 17, rootHash: merkleRoot(leaves).toString("hex") });
    await append(3);
    reads.length = 0;
    expect((await checkpointer.checkpoint("a")).rootHash).toBe(merkleRoot((await collect(ledger.listEntries("a"))).map((e) => entryLeafHash(e.canonical))).toString("hex"));
    expect(reads[0]).toEqual({ from: 17, rows: 3 });
    expect(signer.signCount).toBe(3);
    expect(await verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, "a")).toMatchObject({ intact: true, checkpointsChecked: 3 });
  });

  it("nothing appended since the latest checkpoint: reads no entry", async () => {
    const { ledger, checkpointer } = await setup(5);
    const first = await checkpointer.checkpoint("a");
    const reads = recordReads(ledger);
    expect(await checkpointer.checkpoint("a")).toEqual(first);
    expect(reads.reduce((sum, r) => sum + r.rows, 0)).toBe(0);
  });

  it("a resume state the signed root does not prove is ignored: the whole chain is read and checked", async () => {
    const { ledger, anchor, checkpointer, append } = await setup(10);
    await checkpointer.checkpoint("a");
    const stored = anchor.notes.get("a")!.get(10)!;
    const forged: SignedCheckpoint = { ...stored, resume: { lastEntryHash: "ab".repeat(32), lastLeafProof: stored.resume!.lastLeafProof } };
    anchor.notes.get("a")!.set(10, forged);
    await append(4);
    const reads = recordReads(ledger);
    const cp = await checkpointer.checkpoint("a");
    expect(reads).toEqual([{ from: 0, rows: 14 }]);
    expect(cp.rootHash).toBe(merkleRoot((await collect(ledger.listEntries("a"))).map((e) => entryLeafHash(e.canonical))).toString("hex"));
  });

  it("refuses when the latest checkpoint's signature is bad or the head fell below it", async () => {
    const { ledger, anchor, signer, checkpointer, append } = await setup(8);
    await checkpointer.checkpoint("a");
    await append(2);
    const stored = anchor.notes.get("a")!.get(8)!;
    anchor.notes.get("a")!.set(8, { ...stored, signature: Buffer.alloc(64, 1).toString("base64") });
    await expect(checkpointer.checkpoint("a")).rejects.toMatchObject({ problem: "bad_checkpoint_signature" });
    anchor.notes.get("a")!.set(8, stored);
    const chain = ledger.chains.get("a")!;
    chain.head = { ...chain.head!, size: 6, lastHash: chain.rows.get(formatSequence(5))!.hash };
    await expect(checkpointer.checkpoint("a")).rejects.toMatchObject({ problem: "truncated_after_checkpoint", firstBadSequence: 6 });
    expect(signer.signCount).toBe(1);
  });

  describe("from what its appender committed", () => {
    function appenders() {
      const ledger = new InMemoryAuditLedger({ maxEntriesPerCommit: 7 });
      const anchor = new InMemoryCheckpointAnchor();
      const signer = new InMemoryCheckpointSigner();
      const clock = new ManualClock();
      const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
      const ours = new AuditAppender({ ledger, clock, logger: silentLogger, checkpointer, checkpointEvery: 10 });
      const theirs = new AuditAppender({ ledger, clock, logger: silentLogger });
      const by = (appender: AuditAppender) => (n: number) => appender.append(makeAuditEvents(n, { project: "a" }).map((body) => ({ body })));
      const rootOfStored = async () => merkleRoot((await collect(ledger.listEntries("a"))).map((e) => entryLeafHash(e.canonical))).toString("hex");
      return { ledger, anchor, signer, checkpointer, ours: by(ours), theirs: by(theirs), rootOfStored };
    }

    it("reads none of the entries it committed, and signs the root over the whole chain", async () => {
      const { ledger, anchor, signer, ours, rootOfStored } = appenders();
      const reads = recordReads(ledger);
      await ours(25);
      await ours(8);
      expect(reads).toEqual([]);
      expect((await collect(anchor.list("a"))).map((c) => c.size)).toEqual([25, 33]);
      expect((await anchor.getLatest("a"))?.rootHash).toBe(await rootOfStored());
      expect(await verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, "a")).toMatchObject({ intact: true, checkpointsChecked: 2 });
    });

    it("reads back only the entries another writer appended", async () => {
      const { ledger, anchor, ours, theirs, rootOfStored } = appenders();
      await ours(12);
      await theirs(5);
      const reads = recordReads(ledger);
      await ours(8);
      expect(reads).toEqual([{ from: 12, rows: 5 }]);
      expect(await anchor.getLatest("a")).toMatchObject({ size: 25, rootHash: await rootOfStored() });
      // The same after the next checkpoint (the run restarts after each conflict).
      await theirs(3);
      reads.length = 0;
      await ours(9);
      expect(reads).toEqual([{ from: 25, rows: 3 }]);
      expect(await anchor.getLatest("a")).toMatchObject({ size: 37, rootHash: await rootOfStored() });
    });

    it("a run that does not fit the chain is not used: the entries are read back and the read path signs", async () => {
      const { ledger, anchor, checkpointer, ours, theirs, rootOfStored } = appenders();
      await ours(10);
      await theirs(6);
      const stored = await collect(ledger.listEntries("a", { fromSequence: 10 }));
      const right = { from: 10, prevHash: stored[0]!.prevHash, hashes: stored.map((e) => e.hash) };
      const root = await rootOfStored();
      const reads = recordReads(ledger);
      for (const wrong of [
        { ...right, hashes: [...right.hashes.slice(0, -1), "ab".repeat(32)] },
        { ...right, prevHash: "cd".repeat(32) },
        { from: 12, prevHash: "ef".repeat(32), hashes: right.hashes.slice(2) },
      ]) {
        reads.length = 0;
        anchor.notes.get("a")!.delete(16);
        expect(await checkpointer.checkpoint("a", { committed: wrong })).toMatchObject({ size: 16, rootHash: root });
        expect(reads.at(-1)).toEqual({ from: 10, rows: 6 });
      }
      reads.length = 0;
      anchor.notes.get("a")!.delete(16);
      expect(await checkpointer.checkpoint("a", { committed: right })).toMatchObject({ size: 16, rootHash: root });
      expect(reads).toEqual([]);
      // A run that ends before the head (another writer appended after it): only the rest is read.
      anchor.notes.get("a")!.delete(16);
      expect(await checkpointer.checkpoint("a", { committed: { ...right, hashes: right.hashes.slice(0, 3) } })).toMatchObject({ size: 16, rootHash: root });
      expect(reads).toEqual([{ from: 13, rows: 3 }]);
    });

    it("an entry rewritten after its commit is not read back: the checkpoint signs what was committed, and verify reports the rewrite", async () => {
      const { ledger, anchor, signer, ours } = appenders();
      await ours(13);
      await ours(5);
      const chain = ledger.chains.get("a")!;
      const entry = chain.rows.get(formatSequence(15))!;
      chain.rows.set(entry.rowKey, { ...entry, canonical: entry.canonical.replace('"api_call"', '"api_kall"') });
      const reads = recordReads(ledger);
      await ours(5);
      expect(reads).toEqual([]);
      const committedLeaves = (await collect(ledger.listEntries("a"))).map((e) => leafHash(Buffer.from(e.hash, "hex")));
      expect(await anchor.getLatest("a")).toMatchObject({ size: 23, rootHash: merkleRoot(committedLeaves).toString("hex") });
      expect(await verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, "a")).toMatchObject({ intact: false, problem: "payload_edited", firstBadSequence: 15 });
    });
  });
});
