import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { AuditAppendWorkerError, WorkerAuditAppender } from "../../../src/adapters/workers/WorkerAuditAppender.js";
import { type AuditComponents, createAuditComponents } from "../../../src/composition/audit.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { handleAuditMessages } from "../../../src/functions/appendAuditEvents.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { appendWorkerScript } from "../../support/appendWorkerScript.js";
import { loopTurnsDuring } from "../../support/loopTurns.js";
import { PACKED_AUDIT_FORMAT } from "../../../src/core/audit/auditMessageBody.js";
import { InvocationContext } from "../../../local/host/functionsRuntime.js";

/** Stand-in workers for the failures the real one should not have: Node runs them as they are. */
const STAND_INS: Readonly<Record<string, string>> = {
  "hangs.mjs": `// Takes every delivery and never answers, as a worker stuck in a loop or a call would.
import { parentPort } from "node:worker_threads";
parentPort.on("message", () => undefined);
`,
  "echoes.mjs": `// Gathers a delivery's parts and answers with one outcome per message, its id as the reason, and how many parts came.
import { parentPort } from "node:worker_threads";
const arriving = new Map();
parentPort.on("message", (message) => {
  const { messages, parts } = arriving.get(message.id) ?? { messages: [], parts: 0 };
  const now = { messages: [...messages, ...message.messages], parts: parts + 1 };
  arriving.set(message.id, now);
  if (!message.last) return;
  arriving.delete(message.id);
  parentPort.postMessage({ type: "appended", id: message.id, outcomes: now.messages.map((m, index) => ({ status: "invalid", reason: m.messageId, index, part: now.parts })) });
});
`,
  "throws.mjs": `// Throws on the first delivery it is given, as a worker with a bug would: the thread ends.
import { parentPort } from "node:worker_threads";
parentPort.on("message", () => { throw new Error("worker bug"); });
`,
};

let azurite: RunningAzurite;
let workerUrl: URL;
let directory = "";
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-append-workers-"));
  for (const [name, source] of Object.entries(STAND_INS)) await writeFile(join(directory, name), source);
  [azurite, workerUrl] = await Promise.all([startAzurite(), appendWorkerScript()]);
});
afterAll(async () => {
  await azurite?.stop();
  if (directory !== "") await rm(directory, { recursive: true, force: true });
});

const standIn = (name: string): URL => pathToFileURL(join(directory, name));

function components(options: { checkpointEvery?: number; timeoutInMs?: number } = {}): AuditComponents & { readonly signer: InMemoryCheckpointSigner } {
  const signer = new InMemoryCheckpointSigner();
  const audit = createAuditComponents({
    storage: { connectionString: azurite.connectionString },
    checkpointKeyName: "audit-checkpoint",
    checkpointContainer: "audit-checkpoints",
    checkpointEvery: options.checkpointEvery ?? 0,
    checkpointEveryInMs: 0,
    auditQueue: "audit-events",
    clock: new ManualClock(),
    logger: silentLogger,
    checkpointKeys: { signer, verifier: signer.verifier() },
    appendWorker: { timeoutInMs: options.timeoutInMs ?? 30_000, credential: { local: true }, workerUrl },
  });
  return { ...audit, signer };
}

const eventsOf = (chain: string, count: number) => Array.from({ length: count }, (_, i) => makeAuditEvent({ project: chain }, i));
const asMessages = (events: ReturnType<typeof eventsOf>) => events.map((body) => ({ messageId: body.eventId, body }));

async function entryCount(audit: AuditComponents, chain: string): Promise<number> {
  let count = 0;
  for await (const _entry of audit.ledger.listEntries(chain)) count += 1;
  return count;
}

describe("the audit append in a worker thread (Azurite)", () => {
  it("appends in the worker: the same outcomes, a redelivery is all duplicates, the checkpoint is signed on the main thread, the chain verifies", async () => {
    const audit = components({ checkpointEvery: 50 });
    try {
      expect(audit.appender).toBeInstanceOf(WorkerAuditAppender);
      const events = eventsOf("worker-basic", 120);
      const first = await audit.appender.append(asMessages(events));
      expect(first.map((o) => o.status)).toEqual(Array(120).fill("appended"));
      expect(first.map((o) => (o.status === "appended" ? o.sequence : -1))).toEqual(events.map((_, i) => i));
      const again = await audit.appender.append(asMessages(events));
      expect(again.map((o) => o.status)).toEqual(Array(120).fill("duplicate"));
      // Crossing 50 and 100 asked the main thread's signer for one checkpoint of the delivery's end.
      expect(await audit.anchor.getLatest("worker-basic")).toMatchObject({ size: 120 });
      expect(await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, "worker-basic")).toMatchObject({ intact: true, entriesChecked: 120, checkpointsChecked: 1 });
    } finally {
      await audit.close();
    }
  });

  it("the trigger's handler through the worker: an invalid message is dead-lettered, the valid ones appended in order", async () => {
    const audit = components();
    try {
      const events = eventsOf("worker-trigger", 5);
      const bodies: unknown[] = [...events.slice(0, 2), "not json {", ...events.slice(2)];
      const context = new InvocationContext({ invocationId: "i1", functionName: "appendAuditEvents", triggerMetadata: { messageIdArray: bodies.map((_, i) => `m${i}`), sessionId: "worker-trigger" } });
      const deadLetters = new InMemoryAuditDeadLetters();
      const outcomes = await handleAuditMessages(bodies, context, { appender: audit.appender, deadLetters, logger: silentLogger });
      expect(outcomes.map((o) => o.outcome)).toEqual(["appended", "appended", "invalid", "appended", "appended", "appended"]);
      expect([...deadLetters.letters.values()].map((letter) => letter.messageId)).toEqual(["m2"]);
      expect(await entryCount(audit, "worker-trigger")).toBe(5);
    } finally {
      await audit.close();
    }
  });

  it("a worker ended mid-batch fails the call (the batch is given back); the redelivery appends each event exactly once and the chain verifies", async () => {
    const audit = components();
    const appender = audit.appender as WorkerAuditAppender;
    try {
      const chain = "worker-crash";
      const events = eventsOf(chain, 400);
      // Its failure is kept as a value at once: it comes while this test is still waiting on the ledger.
      const delivery = appender.append(asMessages(events)).then(() => null, (error: unknown) => error);
      // End it once its first chunk is committed, while the rest of the batch is still being appended.
      for (let i = 0; i < 2_000; i += 1) {
        const head = await audit.ledger.getHead(chain);
        if (head !== null && head.size > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const first = appender.threadId;
      await appender.restartWorker();
      expect(await delivery).toBeInstanceOf(AuditAppendWorkerError);
      const partly = (await audit.ledger.getHead(chain))?.size ?? 0;
      expect(partly).toBeGreaterThan(0);
      expect(partly).toBeLessThan(400);

      // The broker redelivers the same batch: a new worker appends what is missing, once.
      const redelivered = await appender.append(asMessages(events));
      expect(appender.threadId).not.toBe(first);
      expect(redelivered.filter((o) => o.status === "duplicate")).toHaveLength(partly);
      expect(redelivered.filter((o) => o.status === "appended")).toHaveLength(400 - partly);
      expect(await entryCount(audit, chain)).toBe(400);
      expect(await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, chain)).toMatchObject({ intact: true, entriesChecked: 400 });
    } finally {
      await audit.close();
    }
  });

  it("a backlog's delivery (100 packed messages, ~4 MB parsed) is handed over in parts, a turn of the event loop between them, whole and in order", async () => {
    const echo = new WorkerAuditAppender({ workerUrl: standIn("echoes.mjs"), workerData: { storage: { connectionString: "" }, checkpointContainer: "c", checkpointEvery: 0, checkpointEveryInMs: 0, createIfMissing: false }, signer: new InMemoryCheckpointSigner(), signatureVerifier: new InMemoryCheckpointSigner().verifier(), logger: silentLogger, timeoutInMs: 10_000 });
    try {
      const messages = Array.from({ length: 100 }, (_, m) => ({ messageId: `m${m}`, body: { format: PACKED_AUDIT_FORMAT, events: Array.from({ length: 60 }, (_, i) => makeAuditEvent({ project: "handover" }, i)) } }));
      const { result, turns } = await loopTurnsDuring(() => echo.append(messages));
      expect(result.map((outcome) => (outcome.status === "invalid" ? outcome.reason : ""))).toEqual(messages.map((message) => message.messageId));
      // One part per packed message (60 events ≈ 42 KB), a turn before each but the first. At once, the clone is one turn of ~50-100 ms.
      expect(result[0]?.part).toBeGreaterThanOrEqual(50);
      expect(turns).toBeGreaterThanOrEqual(50);
    } finally {
      await echo.close();
    }
  });

  it("a hung worker: the call fails after the timeout, the worker is ended and the next call gets a new one", async () => {
    const hung = new WorkerAuditAppender({ workerUrl: standIn("hangs.mjs"), workerData: { storage: { connectionString: "" }, checkpointContainer: "c", checkpointEvery: 0, checkpointEveryInMs: 0, createIfMissing: false }, signer: new InMemoryCheckpointSigner(), signatureVerifier: new InMemoryCheckpointSigner().verifier(), logger: silentLogger, timeoutInMs: 300 });
    try {
      const started = Date.now();
      const call = hung.append([{ body: makeAuditEvent() }]);
      const first = hung.threadId;
      await expect(call).rejects.toThrow(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(hung.threadId).toBeNull();
      const next = hung.append([{ body: makeAuditEvent() }]);
      expect(hung.threadId).not.toBeNull();
      expect(hung.threadId).not.toBe(first);
      await expect(next).rejects.toBeInstanceOf(AuditAppendWorkerError);
    } finally {
      await hung.close();
    }
  });

  it("a worker that throws: the call fails, the process carries on, the next call gets a new worker", async () => {
    const broken = new WorkerAuditAppender({ workerUrl: standIn("throws.mjs"), workerData: { storage: { connectionString: "" }, checkpointContainer: "c", checkpointEvery: 0, checkpointEveryInMs: 0, createIfMissing: false }, signer: new InMemoryCheckpointSigner(), signatureVerifier: new InMemoryCheckpointSigner().verifier(), logger: silentLogger, timeoutInMs: 10_000 });
    try {
      await expect(broken.append([{ body: makeAuditEvent() }])).rejects.toThrow(/worker failed: Error|exited/);
      await expect(broken.append([{ body: makeAuditEvent() }])).rejects.toBeInstanceOf(AuditAppendWorkerError);
    } finally {
      await broken.close();
    }
  });

  it("close ends the worker: a call in flight fails, later calls are refused, the thread is gone", async () => {
    const audit = components();
    const appender = audit.appender as WorkerAuditAppender;
    const inFlight = appender.append(asMessages(eventsOf("worker-close", 200))).then(() => null, (error: unknown) => error);
    expect(appender.threadId).not.toBeNull();
    await audit.close();
    expect(await inFlight).toBeInstanceOf(AuditAppendWorkerError);
    expect(appender.threadId).toBeNull();
    await expect(appender.append(asMessages(eventsOf("worker-close", 1)))).rejects.toThrow(/closed/);
  });
});
