import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, collect } from "../../../src/core/audit/AuditCheckpointer.js";
import { isAuditIntegrityError } from "../../../src/core/audit/AuditIntegrityError.js";
import { createEntry, entryLeafHash, formatSequence, GENESIS_HASH } from "../../../src/core/audit/ChainEntry.js";
import { checkpointNoteText } from "../../../src/core/audit/checkpointNote.js";
import { merkleRoot } from "../../../src/core/audit/merkle.js";
import { makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

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
});
