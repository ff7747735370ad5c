import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppendConflictError, AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, collect } from "../../../src/core/audit/AuditCheckpointer.js";
import { type CommitBatch } from "../../../src/core/audit/AuditLedger.js";
import { parseEntryBody } from "../../../src/core/audit/ChainEntry.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvent, makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

function setup(options: { maxEntriesPerCommit?: number; checkpointEvery?: number } = {}) {
  const ledger = new InMemoryAuditLedger(options);
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const clock = new ManualClock();
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const appender = new AuditAppender({
    ledger,
    clock,
    logger: silentLogger,
    checkpointer,
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
  });
  const verify = (chain: string) => verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, chain);
  return { ledger, anchor, signer, clock, checkpointer, appender, verify };
}

const messages = (events: readonly unknown[]) => events.map((body, i) => ({ messageId: `m${i}`, body }));

describe("AuditAppender", () => {
  it("appends each chain in message order and reports sequences", async () => {
    const { appender, ledger, verify } = setup();
    const a = makeAuditEvents(3, { project: "a" });
    const b = makeAuditEvents(2, { project: "b" });
    const outcomes = await appender.append(messages([a[0], b[0], a[1], JSON.stringify(a[2]), Buffer.from(JSON.stringify(b[1]))]));
    expect(outcomes.map((o) => [o.status, "sequence" in o ? o.sequence : null, o.messageId])).toEqual([
      ["appended", 0, "m0"],
      ["appended", 0, "m1"],
      ["appended", 1, "m2"],
      ["appended", 2, "m3"],
      ["appended", 1, "m4"],
    ]);
    const stored = await collect(ledger.listEntries("a"));
    expect(stored.map((e) => parseEntryBody(e.canonical)?.event.eventId)).toEqual(a.map((e) => e.eventId));
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 3 });
    expect(await verify("b")).toMatchObject({ intact: true, entriesChecked: 2 });
  });

  it("appends nothing twice: redelivery and in-batch repeats are duplicates", async () => {
    const { appender, ledger } = setup();
    const events = makeAuditEvents(4, { project: "a" });
    await appender.append(messages(events.slice(0, 2)));
    const outcomes = await appender.append(messages([events[1], events[2], events[2], events[0], events[3]]));
    expect(outcomes.map((o) => o.status)).toEqual(["duplicate", "appended", "duplicate", "duplicate", "appended"]);
    expect(outcomes[0]).toMatchObject({ sequence: 1 });
    expect((await ledger.getHead("a"))?.size).toBe(4);
  });

  it("reports undecodable or invalid messages with a reason that names fields, not values", async () => {
    const { appender, ledger } = setup();
    const good = makeAuditEvent({ project: "a" });
    const secretish = { ...makeAuditEvent({ project: "a" }), prompt: "my SSN is 078-05-1120" };
    const outcomes = await appender.append(messages(["{not json", { ...good, type: "nope" }, secretish, good, 42]));
    expect(outcomes.map((o) => o.status)).toEqual(["invalid", "invalid", "invalid", "appended", "invalid"]);
    expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining("invalid_json") });
    expect(outcomes[1]).toMatchObject({ reason: expect.stringContaining("type") });
    expect(JSON.stringify(outcomes)).not.toContain("078-05-1120");
    expect((await ledger.getHead("a"))?.size).toBe(1);
  });

  it("splits large batches into commits the ledger accepts", async () => {
    const { appender, ledger, verify } = setup({ maxEntriesPerCommit: 7 });
    const outcomes = await appender.append(messages(makeAuditEvents(30, { project: "a" })));
    expect(outcomes.every((o) => o.status === "appended")).toBe(true);
    expect(ledger.commits).toBe(5);
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 30 });
  });

  it("two writers racing on one chain never fork it", async () => {
    const { ledger, clock, verify } = setup({ maxEntriesPerCommit: 5 });
    const w1 = new AuditAppender({ ledger, clock, logger: silentLogger, maxAttempts: 50 });
    const w2 = new AuditAppender({ ledger, clock, logger: silentLogger, maxAttempts: 50 });
    const events = makeAuditEvents(60, { project: "a" });
    // Overlapping deliveries (20..29 go to both writers), interleaved commit by commit.
    await Promise.all([w1.append(messages(events.slice(0, 30))), w2.append(messages(events.slice(20, 60)))]);
    expect((await ledger.getHead("a"))?.size).toBe(60);
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 60 });
  });

  it("gives up after bounded conflicts with a retryable error", async () => {
    const { ledger, clock } = setup();
    let attempts = 0;
    const stubborn = Object.assign(Object.create(ledger) as InMemoryAuditLedger, {
      commit: async (_: CommitBatch) => {
        attempts += 1;
        return { committed: false as const, reason: "conflict" as const };
      },
    });
    const appender = new AuditAppender({ ledger: stubborn, clock, logger: silentLogger, maxAttempts: 3 });
    await expect(appender.append(messages([makeAuditEvent()]))).rejects.toBeInstanceOf(AuditAppendConflictError);
    expect(attempts).toBe(3);
  });

  it("signs a checkpoint each time a chain crosses a multiple of checkpointEvery", async () => {
    const { appender, anchor, verify } = setup({ checkpointEvery: 10 });
    await appender.append(messages(makeAuditEvents(8, { project: "a" })));
    expect(await anchor.getLatest("a")).toBeNull();
    await appender.append(messages(makeAuditEvents(5, { project: "a" })));
    expect((await anchor.getLatest("a"))?.size).toBe(13);
    await appender.append(messages(makeAuditEvents(4, { project: "a" })));
    expect((await anchor.getLatest("a"))?.size).toBe(13);
    await appender.append(messages(makeAuditEvents(4, { project: "a" })));
    expect((await collect(anchor.list("a"))).map((c) => c.size)).toEqual([13, 21]);
    expect(await verify("a")).toMatchObject({ intact: true, checkpointsChecked: 2 });
  });
});
