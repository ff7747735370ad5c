import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppendConflictError, AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, collect } from "../../../src/core/audit/AuditCheckpointer.js";
import { type CommitBatch } from "../../../src/core/audit/AuditLedger.js";
import { packedAuditBody } from "../../../src/core/audit/auditMessageBody.js";
import { parseEntryBody } from "../../../src/core/audit/ChainEntry.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvent, makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

function setup(options: { maxEntriesPerCommit?: number; checkpointEvery?: number; checkpointEveryInMs?: number } = {}) {
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
    ...(options.checkpointEveryInMs === undefined ? {} : { checkpointEveryInMs: options.checkpointEveryInMs }),
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

  it("also checkpoints on time while a chain grows, so truncating the tail after the window is detected (issue 21 item 9)", async () => {
    const { appender, anchor, clock, ledger, verify } = setup({ checkpointEvery: 1000, checkpointEveryInMs: 300_000 });
    await appender.append(messages(makeAuditEvents(3, { project: "a" })));
    expect((await anchor.getLatest("a"))?.size).toBe(3); // not yet checkpointed by this appender: due
    clock.advance(120_000);
    await appender.append(messages(makeAuditEvents(4, { project: "a" })));
    expect((await anchor.getLatest("a"))?.size).toBe(3); // inside the window
    clock.advance(180_000);
    await appender.append(messages(makeAuditEvents(2, { project: "a" })));
    expect((await anchor.getLatest("a"))?.size).toBe(9); // 5 minutes on: far below 1,000 entries
    // An attacker deletes the tail: a checkpoint covers it, so it no longer verifies.
    const chain = ledger.chains.get("a")!;
    for (const key of [...chain.rows.keys()].slice(6)) chain.rows.delete(key);
    chain.head = { ...chain.head!, size: 6, lastHash: chain.rows.get("000000000005")!.hash };
    expect(await verify("a")).toMatchObject({ intact: false, problem: "truncated_after_checkpoint", firstBadSequence: 6 });
  });
});

/** Counts the ledger calls an appender makes. */
function counting(ledger: InMemoryAuditLedger) {
  const calls = { getHead: 0, findAppended: 0, commit: 0, failNextCommit: false };
  const wrapped = Object.assign(Object.create(ledger) as InMemoryAuditLedger, {
    getHead: (chainId: string) => {
      calls.getHead += 1;
      return ledger.getHead(chainId);
    },
    findAppended: (chainId: string, ids: readonly string[]) => {
      calls.findAppended += 1;
      return ledger.findAppended(chainId, ids);
    },
    commit: async (batch: CommitBatch) => {
      calls.commit += 1;
      if (calls.failNextCommit) {
        calls.failNextCommit = false;
        throw new Error("socket hang up");
      }
      return ledger.commit(batch);
    },
  });
  return { wrapped, calls };
}

describe("AuditAppender round trips", () => {
  it("commits a fresh delivery without reading dedupe rows, and the next one without reading the head", async () => {
    const { ledger, clock } = setup();
    const { wrapped, calls } = counting(ledger);
    const appender = new AuditAppender({ ledger: wrapped, clock, logger: silentLogger });
    await appender.append(messages(makeAuditEvents(60, { project: "a" })));
    expect(calls).toMatchObject({ getHead: 1, findAppended: 0, commit: 2 });
    await appender.append(messages(makeAuditEvents(10, { project: "a" })));
    expect(calls).toMatchObject({ getHead: 1, findAppended: 0, commit: 3 });
    expect((await ledger.getHead("a"))?.size).toBe(70);
  });

  it("a redelivery fails its commit on the dedupe rows, then reads them and appends nothing twice", async () => {
    const { ledger, clock, verify } = setup({ maxEntriesPerCommit: 5 });
    const events = makeAuditEvents(12, { project: "a" });
    const first = new AuditAppender({ ledger, clock, logger: silentLogger });
    await first.append(messages(events.slice(0, 8)));
    const { wrapped, calls } = counting(ledger);
    const second = new AuditAppender({ ledger: wrapped, clock, logger: silentLogger });
    const outcomes = await second.append(messages(events));
    expect(outcomes.map((o) => o.status)).toEqual([...Array<string>(8).fill("duplicate"), ...Array<string>(4).fill("appended")]);
    expect(outcomes.map((o) => ("sequence" in o ? o.sequence : null))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Chunk 1 conflicts once; after that every chunk of this delivery is checked before its commit.
    expect(calls.findAppended).toBe(3);
    expect((await ledger.getHead("a"))?.size).toBe(12);
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 12 });
  });

  it("a remembered head that another writer moved fails on its ETag and is read again: no fork", async () => {
    const { ledger, clock, verify } = setup();
    const { wrapped, calls } = counting(ledger);
    const w1 = new AuditAppender({ ledger: wrapped, clock, logger: silentLogger });
    const w2 = new AuditAppender({ ledger, clock, logger: silentLogger });
    await w1.append(messages(makeAuditEvents(3, { project: "a" })));
    await w2.append(messages(makeAuditEvents(2, { project: "a" })));
    const outcomes = await w1.append(messages(makeAuditEvents(2, { project: "a" })));
    expect(outcomes.map((o) => ("sequence" in o ? o.sequence : null))).toEqual([5, 6]);
    expect(calls.getHead).toBe(2);
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 7 });
  });

  it("forgets the head when a commit fails in an unknown way, and keeps at most headCacheSize heads", async () => {
    const { ledger, clock } = setup();
    const { wrapped, calls } = counting(ledger);
    const appender = new AuditAppender({ ledger: wrapped, clock, logger: silentLogger, headCacheSize: 1 });
    await appender.append(messages(makeAuditEvents(1, { project: "a" })));
    calls.failNextCommit = true;
    await expect(appender.append(messages(makeAuditEvents(1, { project: "a" })))).rejects.toThrow("socket hang up");
    await appender.append(messages(makeAuditEvents(1, { project: "a" })));
    expect(calls.getHead).toBe(2);
    await appender.append(messages(makeAuditEvents(1, { project: "b" })));
    await appender.append(messages(makeAuditEvents(1, { project: "a" })));
    expect(calls.getHead).toBe(4);
    expect((await ledger.getHead("a"))?.size).toBe(3);
  });
});

describe("AuditAppender on an instance that also serves HTTP (issue 22: the one-caller tail)", () => {
  it("lets the event loop turn between slices of a delivery: a request that arrives during a batch of 100 is served before the batch ends", async () => {
    const { appender, ledger, verify } = setup();
    let commits = 0;
    const commit = ledger.commit.bind(ledger);
    ledger.commit = (batch: CommitBatch) => {
      commits += 1;
      return commit(batch);
    };
    // The fake ledger answers in microtasks, like a warm cache: without yields the whole batch would
    // run in one turn of the event loop and the "request" below would wait for all of it.
    let commitsWhenServed = -1;
    setImmediate(() => (commitsWhenServed = commits));
    const events = makeAuditEvents(100, { project: "busy" });
    const outcomes = await appender.append(messages(events));
    expect(outcomes.every((o) => o.status === "appended")).toBe(true);
    expect(commits).toBe(3);
    expect(commitsWhenServed).toBe(0);
    expect(await verify("busy")).toMatchObject({ intact: true, entriesChecked: 100 });
  });

  it("hashes a chunk's entries 16 per turn of the event loop, not a whole chunk of 49 in one turn before its commit", async () => {
    const ledger = new InMemoryAuditLedger();
    const steps: string[] = [];
    const commit = ledger.commit.bind(ledger);
    ledger.commit = (batch: CommitBatch) => {
      steps.push(`commit ${batch.entries.length}`);
      return commit(batch);
    };
    const appender = new AuditAppender({
      ledger,
      clock: new ManualClock(),
      logger: silentLogger,
      yieldToEventLoop: async () => {
        steps.push("turn");
      },
    });
    const events = makeAuditEvents(100, { project: "long" });
    const outcomes = await appender.append(messages(events));
    expect(outcomes.every((o) => o.status === "appended")).toBe(true);
    const afterDecoding = steps.slice(6);
    expect(steps.slice(0, 6)).toEqual(Array.from({ length: 6 }, () => "turn"));
    // Before each chunk, then after every 16 of its entries: [16, 16, 16, 1] entries between turns.
    expect(afterDecoding).toEqual(["turn", "turn", "turn", "turn", "commit 49", "turn", "turn", "turn", "turn", "commit 49", "turn", "commit 2"]);
    expect((await collect(ledger.listEntries("long"))).map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
  });

  it("yields after every 16 decoded messages and before each chunk, and keeps message order across the yields", async () => {
    const ledger = new InMemoryAuditLedger();
    let yields = 0;
    const appender = new AuditAppender({
      ledger,
      clock: new ManualClock(),
      logger: silentLogger,
      yieldToEventLoop: async () => {
        yields += 1;
      },
    });
    const a = makeAuditEvents(60, { project: "a" });
    const b = makeAuditEvents(40, { project: "b" });
    const interleaved = a.flatMap((event, i) => (i < b.length ? [event, b[i]] : [event]));
    const outcomes = await appender.append(messages(interleaved));
    expect(outcomes.every((o) => o.status === "appended")).toBe(true);
    // 100 messages: 6 yields while decoding; chain a in 2 chunks, chain b in 1: 3 more; while hashing,
    // chain a's chunk of 49 yields 3 times (after 16, 32, 48 entries), its chunk of 11 never, chain b's 40 twice.
    expect(yields).toBe(14);
    expect((await collect(ledger.listEntries("a"))).map((e) => e.eventId)).toEqual(a.map((e) => e.eventId));
    expect((await collect(ledger.listEntries("b"))).map((e) => e.eventId)).toEqual(b.map((e) => e.eventId));
  });
});

describe("AuditAppender with packed messages (several events per message)", () => {
  const packed = (events: readonly unknown[]): string => packedAuditBody(events.map((event) => JSON.stringify(event)));

  it("appends a packed message's events in order, beside one-event messages of an older publisher, and reports each event", async () => {
    const { appender, ledger, verify } = setup({ maxEntriesPerCommit: 4 });
    const a = makeAuditEvents(7, { project: "a" });
    const outcomes = await appender.append([
      { messageId: "old-1", body: Buffer.from(JSON.stringify(a[0])) },
      { messageId: "pack-1", body: Buffer.from(packed(a.slice(1, 6))) },
      { messageId: "old-2", body: a[6] },
    ]);
    expect(outcomes.map((o) => [o.status, o.index, o.part ?? null, o.messageId, "sequence" in o ? o.sequence : null])).toEqual([
      ["appended", 0, null, "old-1", 0],
      ["appended", 1, 0, "pack-1", 1],
      ["appended", 1, 1, "pack-1", 2],
      ["appended", 1, 2, "pack-1", 3],
      ["appended", 1, 3, "pack-1", 4],
      ["appended", 1, 4, "pack-1", 5],
      ["appended", 2, null, "old-2", 6],
    ]);
    const stored = await collect(ledger.listEntries("a"));
    expect(stored.map((e) => parseEntryBody(e.canonical)?.event.eventId)).toEqual(a.map((e) => e.eventId));
    expect(await verify("a")).toMatchObject({ intact: true, entriesChecked: 7 });
  });

  it("an invalid event inside a packed message is reported on its own (with its part); the valid ones are appended", async () => {
    const { appender, ledger } = setup();
    const a = makeAuditEvents(3, { project: "a" });
    const bad = { ...makeAuditEvent({ project: "a" }), prompt: "my SSN is 078-05-1120" };
    const outcomes = await appender.append([{ messageId: "p", body: packed([a[0], bad, a[1], a[2]]) }]);
    expect(outcomes.map((o) => [o.status, o.part])).toEqual([
      ["appended", 0],
      ["invalid", 1],
      ["appended", 2],
      ["appended", 3],
    ]);
    expect(outcomes[1]).toMatchObject({ index: 0, messageId: "p", reason: expect.stringContaining("schema") });
    expect(JSON.stringify(outcomes)).not.toContain("078-05-1120");
    expect((await ledger.getHead("a"))?.size).toBe(3);
  });

  it("a redelivered packed message appends nothing twice; a message it cannot read at all is one invalid outcome", async () => {
    const { appender, ledger } = setup();
    const a = makeAuditEvents(4, { project: "a" });
    await appender.append([{ messageId: "p", body: packed(a.slice(0, 3)) }]);
    const outcomes = await appender.append([
      { messageId: "p", body: packed(a.slice(0, 3)) },
      { messageId: "q", body: packed(a.slice(2, 4)) },
      { messageId: "v2", body: { format: "palisade-audit-events/v2", events: a } },
    ]);
    expect(outcomes.map((o) => [o.status, o.index, o.part ?? null])).toEqual([
      ["duplicate", 0, 0],
      ["duplicate", 0, 1],
      ["duplicate", 0, 2],
      ["duplicate", 1, 0],
      ["appended", 1, 1],
      ["invalid", 2, null],
    ]);
    expect((await ledger.getHead("a"))?.size).toBe(4);
  });
});
