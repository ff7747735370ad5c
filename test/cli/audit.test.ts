import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createAuditCommand, EXIT_INCOMPLETE, EXIT_TAMPERED } from "../../src/cli/commands/audit.js";
import { type AuditComponents } from "../../src/composition/audit.js";
import { ManualClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { AuditAppender } from "../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../src/core/audit/AuditCheckpointer.js";
import { formatSequence } from "../../src/core/audit/ChainEntry.js";
import { drainOutbox } from "../../src/core/audit/OutboxAuditPublisher.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../fakes/InMemoryAuditLedger.js";
import { InMemoryAuditOutbox } from "../fakes/InMemoryAuditOutbox.js";
import { InMemoryAuditDeadLetters } from "../fakes/InMemoryAuditDeadLetters.js";
import { InMemoryAuditDeadLetterQueue } from "../fakes/InMemoryAuditDeadLetterQueue.js";
import { replayAuditDeadLetters } from "../../src/core/audit/AuditDeadLetterQueue.js";
import { InMemoryAuditPublisher } from "../fakes/InMemoryAuditPublisher.js";
import { InMemoryCheckpointAnchor } from "../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../fakes/InMemoryCheckpointSigner.js";

class Capture extends Writable {
  text = "";
  isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

async function setup() {
  const ledger = new InMemoryAuditLedger();
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const outbox = new InMemoryAuditOutbox();
  const publisher = new InMemoryAuditPublisher();
  const clock = new ManualClock();
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const deadLetters = new InMemoryAuditDeadLetters();
  const deadLetterQueue = new InMemoryAuditDeadLetterQueue(publisher);
  let closes = 0;
  const components: AuditComponents = {
    ledger,
    anchor,
    signer,
    signatureVerifier: signer.verifier(),
    checkpointer,
    appender,
    publisher,
    outbox,
    deadLetters,
    deadLetterQueue,
    appendHold: { clock, holdForInMs: 0, wait: async () => undefined },
    openPublisher: async () => undefined,
    publisherFor: () => publisher,
    drainOutbox: () => drainOutbox({ outbox, publisher, logger: silentLogger }),
    replayDeadLetters: (options) => replayAuditDeadLetters({ queue: deadLetterQueue, logger: silentLogger }, options),
    close: async () => {
      closes += 1;
    },
  };
  const events = [
    ...Array.from({ length: 6 }, (_, i) => makeAuditEvent({ project: "alpha" }, i)),
    makeAuditEvent({ project: "alpha", type: "auth_failed", actor: { kind: "anonymous", id: "anon" }, ts: "2026-02-01T00:00:00.000Z" }),
    makeAuditEvent({ project: "beta" }, 1),
  ];
  await appender.append(events.map((body) => ({ body })));
  const stdout = new Capture();
  const stderr = new Capture();
  const run = async (...args: string[]): Promise<void> => {
    stdout.text = "";
    stderr.text = "";
    await createAuditCommand({ getAuditComponents: async () => components, stdout, stderr }).parseAsync(args, { from: "user" });
  };
  const runFails = async (...args: string[]): Promise<CommanderError> => {
    const error: unknown = await run(...args).then(() => null, (caught: unknown) => caught);
    if (!(error instanceof CommanderError)) throw new Error(`expected a CommanderError, got ${String(error)}`);
    return error;
  };
  return { ledger, anchor, signer, events, stdout, stderr, run, runFails, closes: () => closes, outbox, deadLetters, deadLetterQueue, publisher };
}

describe("palisade audit", () => {
  it("verify: exit 0 and a summary when intact; JSON with --json", async () => {
    const t = await setup();
    await t.run("verify", "--chain", "alpha");
    expect(t.stdout.text).toContain("intact: 7 entries");
    await t.run("verify", "--chain", "alpha", "--json");
    expect(JSON.parse(t.stdout.text)).toMatchObject({ intact: true, entriesChecked: 7, chainId: "alpha" });
    expect(t.closes()).toBe(2);
  });

  it("verify: non-zero naming the first bad sequence and the kind of tampering", async () => {
    const t = await setup();
    t.ledger.chains.get("alpha")!.rows.delete(formatSequence(3));
    const error = await t.runFails("verify", "--chain", "alpha", "--json");
    expect(error.exitCode).toBe(EXIT_TAMPERED);
    expect(t.stderr.text).toContain("sequence_gap at sequence 3");
    expect(JSON.parse(t.stdout.text)).toMatchObject({ intact: false, problem: "sequence_gap", firstBadSequence: 3 });
  });

  it("verify: intact but NOT complete (exit 3) while events wait in the outbox or the dead letters; replay-dead-letters sends them back", async () => {
    const t = await setup();
    const waiting = makeAuditEvent({ project: "alpha" }, 40);
    await t.outbox.put([waiting]);
    t.deadLetterQueue.deadLetter(makeAuditEvent({ project: "alpha" }, 41));
    t.deadLetterQueue.deadLetter(makeAuditEvent({ project: "beta" }, 42));
    const error = await t.runFails("verify", "--chain", "alpha", "--json");
    expect(error.exitCode).toBe(EXIT_INCOMPLETE);
    expect(JSON.parse(t.stdout.text)).toMatchObject({ intact: true, complete: false, pending: { outbox: 1, deadLetterQueue: 1, deadLetterStore: 0, complete: false } });
    expect(t.stderr.text).toContain("intact but NOT complete");

    await t.run("replay-dead-letters", "--json");
    expect(JSON.parse(t.stdout.text)).toEqual({ replayed: 2, kept: 0, byChain: { alpha: 1, beta: 1 } });
    expect(t.publisher.published.map((e) => e.project).sort()).toEqual(["alpha", "beta"]);
    await t.outbox.delete([waiting]);
    // An outbox copy of an event already in the chain (its send landed after the deadline) is not pending.
    await t.outbox.put([t.events[0]!]);
    await t.run("verify", "--chain", "alpha", "--json");
    expect(JSON.parse(t.stdout.text)).toMatchObject({ intact: true, complete: true });
  });

  it("verify: a chain that does not exist is exit 1, not 'intact: 0 entries'", async () => {
    const t = await setup();
    const error = await t.runFails("verify", "--chain", "no-such-chain");
    expect(error.exitCode).toBe(1);
    expect(t.stderr.text).toContain("there is no chain no-such-chain");
  });

  it("checkpoint: signs and anchors; chains lists sizes and last checkpoint", async () => {
    const t = await setup();
    await t.run("checkpoint", "--chain", "alpha", "--json");
    expect(JSON.parse(t.stdout.text)).toMatchObject({ origin: "alpha", size: 7, algorithm: "ES256" });
    await t.run("chains", "--json");
    const rows = t.stdout.text.trim().split("\n").map((l) => JSON.parse(l) as { chainId: string; size: number; lastCheckpoint: { size: number } | null });
    expect(rows.map((r) => [r.chainId, r.size, r.lastCheckpoint?.size ?? null])).toEqual([
      ["alpha", 7, 7],
      ["beta", 1, null],
    ]);
    await t.run("chains");
    expect(t.stdout.text).toContain("alpha  size 7  last checkpoint 7 at");
  });

  it("checkpoint: fails with exit 1 and a clear message for an unknown chain", async () => {
    const t = await setup();
    const error = await t.runFails("checkpoint", "--chain", "nope");
    expect(error.exitCode).toBe(1);
    expect(t.stderr.text).toContain("Chain nope has no entries");
  });

  it("prove: prints and checks an inclusion proof, with and without --chain", async () => {
    const t = await setup();
    await t.run("checkpoint", "--chain", "alpha");
    await t.run("prove", "--event", t.events[2]!.eventId, "--json");
    const out = JSON.parse(t.stdout.text) as { proof: { sequence: number; treeSize: number; chainId: string }; check: { valid: boolean } };
    expect(out.proof).toMatchObject({ chainId: "alpha", sequence: 2, treeSize: 7 });
    expect(out.check.valid).toBe(true);
    // beta has no signed checkpoint: the path is printed, but the proof is not evidence (exit 3).
    const unsigned = await t.runFails("prove", "--event", t.events[7]!.eventId, "--chain", "beta");
    expect(unsigned.exitCode).toBe(EXIT_INCOMPLETE);
    expect(t.stdout.text).toContain("is entry 0 of chain beta");
    expect(t.stderr.text).toContain("no signed checkpoint covers it");
    const missing = await t.runFails("prove", "--event", "no-such-event");
    expect(missing.exitCode).toBe(1);
  });

  it("prove: a tampered entry makes the proof fail against the signed checkpoint", async () => {
    const t = await setup();
    await t.run("checkpoint", "--chain", "alpha");
    const rows = t.ledger.chains.get("alpha")!.rows;
    const entry = rows.get(formatSequence(5))!;
    rows.set(entry.rowKey, { ...entry, canonical: entry.canonical.replace('"costUsd":0.001', '"costUsd":0.5') });
    const error = await t.runFails("prove", "--event", t.events[2]!.eventId);
    expect(error.exitCode).toBe(EXIT_TAMPERED);
    expect(t.stderr.text).toContain("bad_inclusion_proof at sequence 2");
  });

  it("query: JSON lines filtered by chain, type, actor and time", async () => {
    const t = await setup();
    const lines = async (...args: string[]) => {
      await t.run("query", ...args);
      return t.stdout.text.trim() === "" ? [] : t.stdout.text.trim().split("\n").map((l) => JSON.parse(l) as { eventId: string });
    };
    expect((await lines("--chain", "alpha")).length).toBe(7);
    expect((await lines()).length).toBe(8);
    expect((await lines("--type", "auth_failed")).map((e) => e.eventId)).toEqual([t.events[6]!.eventId]);
    expect((await lines("--actor", "sa-1", "--chain", "alpha")).map((e) => e.eventId)).toEqual([t.events[1]!.eventId, t.events[4]!.eventId]);
    expect((await lines("--chain", "alpha", "--since", "2026-01-01T00:00:02Z", "--until", "2026-01-01T00:00:04Z")).map((e) => e.eventId)).toEqual([
      t.events[2]!.eventId,
      t.events[3]!.eventId,
    ]);
    const bad = await t.runFails("query", "--since", "yesterday");
    expect(bad.exitCode).toBe(1);
  });

  it("verify --trusted-keys: signatures are checked against the auditor's keys only", async () => {
    const t = await setup();
    await t.run("checkpoint", "--chain", "alpha");
    const dir = await mkdtemp(join(tmpdir(), "palisade-audit-"));
    try {
      const good = join(dir, "good.json");
      await writeFile(good, JSON.stringify({ [t.signer.keyId]: t.signer.publicJwk }));
      await t.run("verify", "--chain", "alpha", "--trusted-keys", good);
      expect(t.stdout.text).toContain("1 signed checkpoints");
      const other = join(dir, "other.json");
      await writeFile(other, JSON.stringify({ [t.signer.keyId]: new InMemoryCheckpointSigner().publicJwk }));
      const error = await t.runFails("verify", "--chain", "alpha", "--trusted-keys", other);
      expect(error.exitCode).toBe(EXIT_TAMPERED);
      expect(t.stderr.text).toContain("bad_checkpoint_signature");
      const missing = await t.runFails("verify", "--chain", "alpha", "--trusted-keys", join(dir, "nope.json"));
      expect(missing.exitCode).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("verify shows progress on a TTY only", async () => {
    const t = await setup();
    t.stderr.isTTY = true;
    const events = Array.from({ length: 10_050 }, (_, i) => makeAuditEvent({ project: "big" }, i));
    await new AuditAppender({ ledger: t.ledger, clock: new ManualClock(), logger: silentLogger }).append(events.map((body) => ({ body })));
    await t.run("verify", "--chain", "big");
    expect(t.stderr.text).toContain("verified 10000 entries");
    t.stderr.isTTY = false;
    await t.run("verify", "--chain", "big");
    expect(t.stderr.text).toBe("");
  });
});
