import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";
import { ServiceBusAuditPublisher } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { type WorkerAuditAppender } from "../../../src/adapters/workers/WorkerAuditAppender.js";
import { createAuditComponents } from "../../../src/composition/audit.js";
import { parseEntryBody } from "../../../src/core/audit/ChainEntry.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { appendAuditEventsOptions, handleAuditMessages } from "../../../src/functions/appendAuditEvents.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { appendWorkerScript } from "../../support/appendWorkerScript.js";
import { eventually, sleep } from "../../support/drive.js";

/**
 * The append worker behind the trigger as the local host feeds it (real Service Bus SDK and emulator,
 * Azurite): a worker that dies in the middle of a delivery fails the invocation, the host abandons the
 * batch, the broker redelivers it, and every event ends up in the chain once, in publish order.
 */

let azurite: RunningAzurite;
let broker: RunningServiceBusEmulator;
let client: ServiceBusClient;
let workerUrl: URL;
beforeAll(async () => {
  [azurite, broker, workerUrl] = await Promise.all([startAzurite(), startServiceBusEmulator({ queues: [{ name: "audit", requiresSession: true }], port: 0 }), appendWorkerScript()]);
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  await client?.close();
  await Promise.allSettled([broker?.stop(), azurite?.stop()]);
});

describe("the append worker behind the Service Bus trigger", () => {
  it("a worker killed mid-delivery: the batch is abandoned and redelivered, each event appended once, in order, the chain intact", async () => {
    const signer = new InMemoryCheckpointSigner();
    const audit = createAuditComponents({
      storage: { connectionString: azurite.connectionString },
      checkpointKeyName: "audit-checkpoint",
      checkpointContainer: "audit-checkpoints",
      checkpointEvery: 0,
      checkpointEveryInMs: 0,
      auditQueue: "audit",
      clock: new ManualClock(),
      logger: silentLogger,
      checkpointKeys: { signer, verifier: signer.verifier() },
      appendWorker: { timeoutInMs: 30_000, credential: { local: true }, workerUrl },
    });
    const appender = audit.appender as WorkerAuditAppender;
    const chain = "trigger-crash";
    const events = Array.from({ length: 300 }, (_, i) => makeAuditEvent({ project: chain }, i));
    const publisher = new ServiceBusAuditPublisher(client.createSender("audit"));
    await publisher.publish(events);
    await publisher.close();
    const before = { ...broker.operations() };

    const deadLetters = new InMemoryAuditDeadLetters();
    let killed = false;
    const trigger = startServiceBusTrigger({
      name: "appendAuditEvents",
      options: {
        ...appendAuditEventsOptions,
        handler: async (messages, context) => {
          const work = handleAuditMessages(messages, context, { appender, deadLetters, logger: silentLogger });
          if (!killed) {
            killed = true;
            // Its failure is the host's to see (returned below), not an unhandled rejection meanwhile.
            work.catch(() => undefined);
            // Once the first chunk is committed, while the rest of the delivery is in the worker.
            for (let i = 0; i < 1_000 && ((await audit.ledger.getHead(chain))?.size ?? 0) === 0; i += 1) await sleep(2);
            await appender.restartWorker();
          }
          return work;
        },
      },
      queueName: "audit",
      client,
      maxConcurrentSessions: 1,
      log: () => undefined,
    });
    try {
      expect(await eventually(async () => (await audit.ledger.getHead(chain))?.size === events.length && broker.queueDepth("audit") === 0, 20_000)).toBe(true);
    } finally {
      await trigger.stop();
      await audit.close();
    }
    expect(killed).toBe(true);
    const abandoned = (broker.operations()["settle.abandon"] ?? 0) - (before["settle.abandon"] ?? 0);
    expect(abandoned).toBeGreaterThan(0);
    const ids: string[] = [];
    for await (const entry of audit.ledger.listEntries(chain)) ids.push(parseEntryBody(entry.canonical)?.event.eventId ?? "?");
    expect(ids).toEqual(events.map((event) => event.eventId));
    expect(await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, chain)).toMatchObject({ intact: true, entriesChecked: 300 });
    expect(deadLetters.letters.size).toBe(0);
  });
});
