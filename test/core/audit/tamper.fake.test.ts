import { describe, expect, it } from "vitest";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../../src/core/audit/AuditCheckpointer.js";
import { createEntry, entryLeafHash, formatSequence, parseEntryBody, type StoredEntry } from "../../../src/core/audit/ChainEntry.js";
import { AuditProofMismatchError, checkAuditInclusionProof, proveAuditEvent } from "../../../src/core/audit/inclusionProof.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { InMemoryCheckpointKeyPins } from "../../fakes/InMemoryCheckpointKeyPins.js";
import { CheckpointKeyTrust } from "../../../src/core/audit/CheckpointKeyTrust.js";
import { type CheckpointKeyPin, verifyKeyPinChain } from "../../../src/core/audit/checkpointKeyPin.js";
import { checkpointNoteText } from "../../../src/core/audit/checkpointNote.js";
import { sha256 } from "../../../src/core/audit/hashing.js";
import { merkleRoot } from "../../../src/core/audit/merkle.js";

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

describe("tamper suite (issue 21 item 10): notes re-signed with a key version added to the vault", () => {
  async function pinnedChain() {
    const ledger = new InMemoryAuditLedger();
    const anchor = new InMemoryCheckpointAnchor();
    const signer = new InMemoryCheckpointSigner();
    const clock = new ManualClock();
    const pins = new InMemoryCheckpointKeyPins();
    const trust = new CheckpointKeyTrust({ pins, keys: signer, clock, logger: silentLogger });
    const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
    const checkpointer = new AuditCheckpointer({ ledger, anchor, signer: trust, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
    await appender.append(Array.from({ length: 12 }, (_, i) => ({ body: makeAuditEvent({ project: CHAIN }, i) })));
    await checkpointer.checkpoint(CHAIN);
    const verifyPinned = async () => {
      const { trust: pinned } = await trust.load();
      return verifyStoredChain({ ledger, anchor, signatureVerifier: pinned.verifier, trustedKeyIds: pinned.trustedKeyIds }, CHAIN);
    };
    expect(await verifyPinned()).toMatchObject({ intact: true, checkpointsChecked: 1 });
    return { ledger, anchor, signer, pins, trust, checkpointer, appender, verifyPinned };
  }

  it("10: the whole chain rewritten and its note re-signed by an added version: untrusted_key naming it (the vault's verifier would accept it)", async () => {
    const t = await pinnedChain();
    const rows = t.ledger.chains.get(CHAIN)!.rows;
    let prev = "0".repeat(64);
    const leaves: Buffer[] = [];
    for (let seq = 0; seq < 12; seq += 1) {
      const body = parseEntryBody(rows.get(formatSequence(seq))!.canonical)!;
      const entry = createEntry({ chainId: CHAIN, sequence: seq, ts: body.ts, prevHash: prev, event: { ...body.event, costUsd: 0 } });
      rows.set(formatSequence(seq), entry);
      leaves.push(entryLeafHash(entry.canonical));
      prev = entry.hash;
    }
    const head = t.ledger.chains.get(CHAIN)!.head!;
    t.ledger.chains.get(CHAIN)!.head = { ...head, lastHash: prev };
    const added = await t.signer.createVersion();
    const note = { origin: CHAIN, size: 12, rootHash: merkleRoot(leaves).toString("hex"), timestamp: "2026-01-02T00:00:00.000Z" };
    const signature = await t.signer.signWith(added, sha256(checkpointNoteText(note)));
    t.anchor.notes.get(CHAIN)!.set(12, { ...note, keyId: added, algorithm: "ES256", signature: Buffer.from(signature).toString("base64") });
    const result = await t.verifyPinned();
    expect(result).toMatchObject({ intact: false, problem: "untrusted_key", checkpointSize: 12 });
    expect(result.message).toContain(added);
    // What the vault's verifier (the opt-out) says about the same stores:
    expect(await verifyStoredChain({ ledger: t.ledger, anchor: t.anchor, signatureVerifier: t.signer.verifier() }, CHAIN)).toMatchObject({ intact: true });
  });

  it("10: the pinned key keeps signing after a version is added; a rotation pins the next one signed by the previous", async () => {
    const t = await pinnedChain();
    const added = await t.signer.createVersion();
    await t.appender.append([{ body: makeAuditEvent({ project: CHAIN }, 40) }]);
    expect(await t.checkpointer.checkpoint(CHAIN)).toMatchObject({ size: 13, keyId: "memory://checkpoint-key/1" });
    const { pinned, previous } = await t.trust.rotate();
    expect(previous?.keyId).toBe("memory://checkpoint-key/1");
    expect(pinned.keyId).not.toBe(added);
    await t.appender.append([{ body: makeAuditEvent({ project: CHAIN }, 41) }]);
    expect(await t.checkpointer.checkpoint(CHAIN)).toMatchObject({ size: 14, keyId: pinned.keyId });
    expect(await t.verifyPinned()).toMatchObject({ intact: true, checkpointsChecked: 3 });
  });

  it("10: a rotation whose previous pinned version cannot sign is refused and pins nothing", async () => {
    const t = await pinnedChain();
    t.signer.unusable.add("memory://checkpoint-key/1");
    await expect(t.trust.rotate()).rejects.toMatchObject({ problem: "untrusted_key" });
    expect([...t.pins.stored.keys()]).toEqual([0]);
  });

  it("10: broken pins refuse the next checkpoint (logged as audit.checkpoint.refused, which the alert watches) once the signer reads them again", async () => {
    const ledger = new InMemoryAuditLedger();
    const anchor = new InMemoryCheckpointAnchor();
    const signer = new InMemoryCheckpointSigner();
    const clock = new ManualClock();
    const pins = new InMemoryCheckpointKeyPins();
    const logged: string[] = [];
    const logger = { ...silentLogger, error: (message: string) => void logged.push(message) };
    const trust = new CheckpointKeyTrust({ pins, keys: signer, clock, logger });
    const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
    const checkpointer = new AuditCheckpointer({ ledger, anchor, signer: trust, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
    await appender.append([{ body: makeAuditEvent({ project: CHAIN }, 0) }]);
    await checkpointer.checkpoint(CHAIN);
    pins.stored.set(0, "{}");
    await appender.append([{ body: makeAuditEvent({ project: CHAIN }, 1) }]);
    clock.advance(60_000);
    await expect(checkpointer.checkpoint(CHAIN)).rejects.toMatchObject({ problem: "invalid_key_pin" });
    expect(logged).toContain("audit.checkpoint.refused");
    expect(anchor.notes.get(CHAIN)?.has(2)).toBe(false);
  });

  it("10: pins swapped in order or re-linked are invalid_key_pin", async () => {
    const t = await pinnedChain();
    await t.trust.rotate();
    await t.trust.rotate();
    const [p0, p1, p2] = [0, 1, 2].map((i) => t.pins.stored.get(i) as CheckpointKeyPin);
    // Pin 2 moved to index 1 (and pin 1 dropped): it no longer follows its predecessor.
    t.pins.stored.set(1, { ...p2!, index: 1 });
    t.pins.stored.delete(2);
    await expect(t.trust.load()).rejects.toMatchObject({ problem: "invalid_key_pin" });
    expect(verifyKeyPinChain([{ index: 0, pin: p0! }, { index: 1, pin: p1! }, { index: 2, pin: p2! }])).toMatchObject({ ok: true });
    expect(verifyKeyPinChain([{ index: 0, pin: p0! }, { index: 1, pin: { ...p1!, previousPinHash: "00".repeat(32) } }])).toMatchObject({ ok: false, index: 1 });
    expect(verifyKeyPinChain([{ index: 0, pin: { ...p1!, index: 0 } }])).toMatchObject({ ok: false, index: 0 });
  });
});
