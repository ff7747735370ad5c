import { expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../../src/core/audit/AuditCheckpointer.js";
import { type AuditLedger, type ChainHead } from "../../../src/core/audit/AuditLedger.js";
import { createEntry, entryLeafHash, formatSequence, GENESIS_HASH, parseEntryBody, type StoredEntry } from "../../../src/core/audit/ChainEntry.js";
import { type CheckpointAnchor } from "../../../src/core/audit/CheckpointAnchor.js";
import { checkpointNoteText, type SignedCheckpoint } from "../../../src/core/audit/checkpointNote.js";
import { sha256, sha256Hex } from "../../../src/core/audit/hashing.js";
import { checkAuditInclusionProof, proveAuditEvent } from "../../../src/core/audit/inclusionProof.js";
import { merkleRoot } from "../../../src/core/audit/merkle.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

/** What an attacker with write access to the chain's table can do. */
export interface Tamperer {
  getRow(chainId: string, rowKey: string): Promise<StoredEntry>;
  putRow(entry: StoredEntry): Promise<void>;
  deleteRow(chainId: string, rowKey: string): Promise<void>;
  setHead(head: ChainHead): Promise<void>;
}

export interface AttackStack {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  readonly tamper: Tamperer;
}

const CHAIN = "proj-attack";

async function buildChain(stack: AttackStack, size: number, checkpointsAt: readonly number[]) {
  const clock = new ManualClock();
  const signer = new InMemoryCheckpointSigner();
  const signatureVerifier = signer.verifier();
  const appender = new AuditAppender({ ledger: stack.ledger, clock, logger: silentLogger });
  const checkpointer = new AuditCheckpointer({ ledger: stack.ledger, anchor: stack.anchor, signer, signatureVerifier, clock, logger: silentLogger });
  let appended = 0;
  for (const target of [...checkpointsAt, size]) {
    const events = Array.from({ length: target - appended }, (_, i) => makeAuditEvent({ project: CHAIN }, appended + i));
    await appender.append(events.map((body) => ({ messageId: body.eventId, body })));
    appended = target;
    clock.advance(1000);
    if (target !== size || checkpointsAt.includes(size)) await checkpointer.checkpoint(CHAIN);
  }
  const verify = () => verifyStoredChain({ ledger: stack.ledger, anchor: stack.anchor, signatureVerifier }, CHAIN);
  expect(await verify()).toMatchObject({ intact: true, entriesChecked: size });
  return { verify, signer, signatureVerifier };
}

const row = (n: number): string => formatSequence(n);

/** Rebuilds entries [from, to) consistently (rehashed and relinked) with edited events, as a capable attacker would. */
async function rewriteFrom(stack: AttackStack, from: number, to: number, existing: number): Promise<ChainHead> {
  let prev = from === 0 ? GENESIS_HASH : (await stack.tamper.getRow(CHAIN, row(from - 1))).hash;
  for (let seq = from; seq < to; seq += 1) {
    const original = seq < existing ? parseEntryBody((await stack.tamper.getRow(CHAIN, row(seq))).canonical) : null;
    const event = { ...(original?.event ?? makeAuditEvent({ project: CHAIN }, seq)), costUsd: 0 };
    const entry = createEntry({ chainId: CHAIN, sequence: seq, ts: original?.ts ?? "2026-01-02T00:00:00.000Z", prevHash: prev, event });
    await stack.tamper.putRow(entry);
    prev = entry.hash;
  }
  const head = { chainId: CHAIN, size: to, lastHash: prev, updatedAt: "2026-01-02T00:00:00.000Z" };
  await stack.tamper.setHead(head);
  return head;
}

/** One test per attack: each must be detected and named, with the first bad sequence number. */
export function describeAuditAttacks(factory: () => Promise<AttackStack>): void {
  it("an edited payload that keeps its stored hash: payload_edited", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    const entry = await stack.tamper.getRow(CHAIN, row(4));
    await stack.tamper.putRow({ ...entry, canonical: entry.canonical.replace('"costUsd":0.001', '"costUsd":0.002') });
    expect(await verify()).toMatchObject({ intact: false, problem: "payload_edited", firstBadSequence: 4 });
  });

  it("one entry edited and rehashed: hash_mismatch", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    const entry = await stack.tamper.getRow(CHAIN, row(4));
    const canonical = entry.canonical.replace('"costUsd":0.001', '"costUsd":0.002');
    expect(canonical).not.toBe(entry.canonical);
    await stack.tamper.putRow({ ...entry, canonical, hash: sha256Hex(canonical) });
    expect(await verify()).toMatchObject({ intact: false, problem: "hash_mismatch", firstBadSequence: 4 });
  });

  it("a middle row deleted: sequence_gap", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    await stack.tamper.deleteRow(CHAIN, row(4));
    expect(await verify()).toMatchObject({ intact: false, problem: "sequence_gap", firstBadSequence: 4 });
  });

  it("the tail deleted after a checkpoint, head adjusted to match: truncated_after_checkpoint", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    for (let seq = 8; seq < 12; seq += 1) await stack.tamper.deleteRow(CHAIN, row(seq));
    const last = await stack.tamper.getRow(CHAIN, row(7));
    await stack.tamper.setHead({ chainId: CHAIN, size: 8, lastHash: last.hash, updatedAt: "x" });
    expect(await verify()).toMatchObject({ intact: false, problem: "truncated_after_checkpoint", firstBadSequence: 8, checkpointSize: 10 });
  });

  it("two rows swapped: reordered", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    const a = await stack.tamper.getRow(CHAIN, row(3));
    const b = await stack.tamper.getRow(CHAIN, row(4));
    await stack.tamper.putRow({ ...b, rowKey: row(3) });
    await stack.tamper.putRow({ ...a, rowKey: row(4) });
    expect(await verify()).toMatchObject({ intact: false, problem: "reordered", firstBadSequence: 3 });
  });

  it("a forged row inserted (linked, but outside the head): inserted", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    const last = await stack.tamper.getRow(CHAIN, row(11));
    await stack.tamper.putRow(createEntry({ chainId: CHAIN, sequence: 12, ts: last.ts, prevHash: last.hash, event: makeAuditEvent({ project: CHAIN }) }));
    expect(await verify()).toMatchObject({ intact: false, problem: "inserted", firstBadSequence: 12 });
  });

  it("the whole chain rewritten consistently: rewritten_chain (caught by the signed checkpoint)", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    await rewriteFrom(stack, 0, 12, 12);
    expect(await verify()).toMatchObject({ intact: false, problem: "rewritten_chain", firstBadSequence: 0, checkpointSize: 10 });
  });

  it("two signed histories (a fork): fork", async () => {
    const stack = await factory();
    const { verify, signer } = await buildChain(stack, 10, [5, 10]);
    const head = await rewriteFrom(stack, 7, 12, 10);
    // The forked history gets its own signed checkpoint (a second writer fooled the signer).
    const leaves: Buffer[] = [];
    for await (const e of stack.ledger.listEntries(CHAIN)) leaves.push(entryLeafHash(e.canonical));
    const body = { origin: CHAIN, size: head.size, rootHash: merkleRoot(leaves).toString("hex"), timestamp: "2026-01-03T00:00:00.000Z" };
    const sig = await signer.sign(sha256(checkpointNoteText(body)));
    await stack.anchor.put({ ...body, keyId: sig.keyId, algorithm: "ES256", signature: Buffer.from(sig.signature).toString("base64") });
    expect(await verify()).toMatchObject({ intact: false, problem: "fork", firstBadSequence: 5, checkpointSize: 10 });
  });

  it("a stored timestamp changed: timestamp_changed", async () => {
    const stack = await factory();
    const { verify } = await buildChain(stack, 12, [10]);
    const entry = await stack.tamper.getRow(CHAIN, row(6));
    await stack.tamper.putRow({ ...entry, eventTs: "2025-12-31T23:59:59.000Z" });
    expect(await verify()).toMatchObject({ intact: false, problem: "timestamp_changed", firstBadSequence: 6 });
  });

  it("a checkpoint with a bad signature: bad_checkpoint_signature", async () => {
    const stack = await factory();
    const { verify, signer } = await buildChain(stack, 12, [10]);
    const leaves: Buffer[] = [];
    for await (const e of stack.ledger.listEntries(CHAIN)) leaves.push(entryLeafHash(e.canonical));
    const body = { origin: CHAIN, size: 12, rootHash: merkleRoot(leaves).toString("hex"), timestamp: "2026-01-03T00:00:00.000Z" };
    const forger = new InMemoryCheckpointSigner(signer.keyId); // same key id, different key
    const sig = await forger.sign(sha256(checkpointNoteText(body)));
    const forged: SignedCheckpoint = { ...body, keyId: signer.keyId, algorithm: "ES256", signature: Buffer.from(sig.signature).toString("base64") };
    await stack.anchor.put(forged);
    expect(await verify()).toMatchObject({ intact: false, problem: "bad_checkpoint_signature", checkpointSize: 12 });
  });

  it("a tampered inclusion proof: bad_inclusion_proof", async () => {
    const stack = await factory();
    const { signatureVerifier } = await buildChain(stack, 12, [10]);
    const entry = await stack.tamper.getRow(CHAIN, row(3));
    const proof = await proveAuditEvent({ ledger: stack.ledger, anchor: stack.anchor }, entry.eventId);
    expect(proof).toMatchObject({ chainId: CHAIN, sequence: 3, treeSize: 10 });
    expect(await checkAuditInclusionProof(proof, signatureVerifier)).toMatchObject({ valid: true, sequence: 3 });
    const flipped = proof.path.map((h, i) => (i === 1 ? (h.startsWith("0") ? "1" : "0") + h.slice(1) : h));
    expect(await checkAuditInclusionProof({ ...proof, path: flipped }, signatureVerifier)).toMatchObject({ valid: false, problem: "bad_inclusion_proof", sequence: 3 });
    const edited = proof.canonical.replace('"costUsd":0.001', '"costUsd":0.002');
    expect(await checkAuditInclusionProof({ ...proof, canonical: edited }, signatureVerifier)).toMatchObject({ valid: false, problem: "bad_inclusion_proof", sequence: 3 });
    const otherRoot = { ...proof, rootHash: "00".repeat(32) };
    expect(await checkAuditInclusionProof(otherRoot, signatureVerifier)).toMatchObject({ valid: false, problem: "bad_inclusion_proof" });
  });
}
