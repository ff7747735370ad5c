import { describe, expect, it } from "vitest";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../../src/core/audit/AuditCheckpointer.js";
import { createEntry, formatSequence, parseEntryBody, type StoredEntry } from "../../../src/core/audit/ChainEntry.js";
import { AuditProofMismatchError, checkAuditInclusionProof, proveAuditEvent } from "../../../src/core/audit/inclusionProof.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

const CHAIN = "proj-tamper";

/** A chain of `size` entries with a signed checkpoint at `checkpointAt`, and an attacker's handles on its stores. */
async function chain(size: number, checkpointAt: number) {
  const ledger = new InMemoryAuditLedger();
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const clock = new ManualClock();
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const events = Array.from({ length: size }, (_, i) => makeAuditEvent({ project: CHAIN }, i));
  await appender.append(events.slice(0, checkpointAt).map((body) => ({ body })));
  await checkpointer.checkpoint(CHAIN);
  await appender.append(events.slice(checkpointAt).map((body) => ({ body })));
  const stored = ledger.chains.get(CHAIN)!;
  const verify = () => verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, CHAIN);
  expect(await verify()).toMatchObject({ intact: true });
  return { ledger, anchor, signer, events, stored, verify };
}

describe("tamper suite (issue 21 items 6-8): each attack detected and named", () => {
  it("6: a checkpoint note whose JSON is truncated is unreadable_checkpoint, not skipped (a whole-chain rewrite cannot hide behind it)", async () => {
    const t = await chain(20, 10);
    const note = t.anchor.notes.get(CHAIN)!.get(10)!;
    t.anchor.corrupted.set(CHAIN, new Map([[10, JSON.stringify(note).slice(0, 40)]]));
    expect(await t.verify()).toMatchObject({ intact: false, problem: "unreadable_checkpoint", checkpointSize: 10 });
  });

  it("6: a checkpoint note whose signature is null is unreadable_checkpoint", async () => {
    const t = await chain(20, 10);
    const note = t.anchor.notes.get(CHAIN)!.get(10)!;
    t.anchor.notes.get(CHAIN)!.set(10, { ...note, signature: null as unknown as string });
    expect(await t.verify()).toMatchObject({ intact: false, problem: "unreadable_checkpoint", checkpointSize: 10 });
  });

  it("7: a forged dedupe row pointing an invented event id at an entry: verify says dedupe_mismatch, prove refuses", async () => {
    const t = await chain(20, 20);
    t.stored.dedupe.set("invented-event", 12);
    expect(await t.verify()).toMatchObject({ intact: false, problem: "dedupe_mismatch", firstBadSequence: 12 });
    await expect(proveAuditEvent({ ledger: t.ledger, anchor: t.anchor }, "invented-event", CHAIN)).rejects.toBeInstanceOf(AuditProofMismatchError);
  });

  it("7: a deleted dedupe row: dedupe_mismatch at its entry", async () => {
    const t = await chain(20, 20);
    t.stored.dedupe.delete(t.events[7]!.eventId);
    expect(await t.verify()).toMatchObject({ intact: false, problem: "dedupe_mismatch", firstBadSequence: 7 });
  });

  it("7: a proof whose eventId was relabelled does not hold", async () => {
    const t = await chain(20, 20);
    const proof = await proveAuditEvent({ ledger: t.ledger, anchor: t.anchor }, t.events[5]!.eventId, CHAIN);
    expect(await checkAuditInclusionProof(proof, t.signer.verifier())).toMatchObject({ valid: true, signed: true });
    const relabelled = { ...proof, eventId: t.events[6]!.eventId };
    expect(await checkAuditInclusionProof(relabelled, t.signer.verifier())).toMatchObject({ valid: false, problem: "bad_inclusion_proof", sequence: 5 });
  });

  it("8: a proof whose checkpoint was removed (from the proof, or from the anchor) is not signed evidence", async () => {
    const t = await chain(20, 20);
    const proof = await proveAuditEvent({ ledger: t.ledger, anchor: t.anchor }, t.events[5]!.eventId, CHAIN);
    const { checkpoint: _removed, ...stripped } = proof;
    expect(await checkAuditInclusionProof(stripped, t.signer.verifier())).toMatchObject({ signed: false });
    t.anchor.notes.get(CHAIN)!.delete(20);
    const again = await proveAuditEvent({ ledger: t.ledger, anchor: t.anchor }, t.events[5]!.eventId, CHAIN);
    expect(await checkAuditInclusionProof(again, t.signer.verifier())).toMatchObject({ signed: false });
  });

  it("8: an entry inserted by renumbering (a forged entry at 8, the rest moved up one row) is inserted at 8, not reordered", async () => {
    const t = await chain(20, 20);
    const rows = t.stored.rows;
    const moved: StoredEntry[] = [];
    for (let seq = 19; seq >= 8; seq -= 1) moved.push(rows.get(formatSequence(seq))!);
    for (const entry of moved) rows.set(formatSequence(Number(entry.rowKey) + 1), { ...entry, rowKey: formatSequence(Number(entry.rowKey) + 1) });
    const previous = rows.get(formatSequence(7))!;
    const forged = createEntry({ chainId: CHAIN, sequence: 8, ts: parseEntryBody(previous.canonical)!.ts, prevHash: previous.hash, event: makeAuditEvent({ project: CHAIN }, 999) });
    rows.set(forged.rowKey, forged);
    t.stored.head = { ...t.stored.head!, size: 21 };
    expect(await t.verify()).toMatchObject({ intact: false, problem: "inserted", firstBadSequence: 8 });
  });
});
