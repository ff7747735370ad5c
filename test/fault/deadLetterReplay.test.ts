import { TableClient } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../local/azurite.js";
import { type RunningTrigger, startServiceBusTrigger } from "../../local/host/serviceBusTrigger.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../local/servicebus/index.js";
import { ServiceBusAuditDeadLetterQueue } from "../../src/adapters/servicebus/ServiceBusAuditDeadLetterQueue.js";
import { toAuditMessage, toPackedAuditMessage } from "../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { TableAuditDeadLetters } from "../../src/adapters/tables/audit/TableAuditDeadLetters.js";
import { tableDependencyPolicy } from "../../src/adapters/tables/tableDependencyPolicy.js";
import { AuditAppender } from "../../src/core/audit/AuditAppender.js";
import { countAuditBacklogs } from "../../src/core/audit/auditBacklog.js";
import { silentLogger } from "../../src/core/logger.js";
import { CircuitBreaker } from "../../src/core/resilience/CircuitBreaker.js";
import { appendAuditEventsOptions, handleAuditMessages } from "../../src/functions/appendAuditEvents.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditOutbox } from "../fakes/InMemoryAuditOutbox.js";
import { eventually, sleep } from "../support/drive.js";
import { type FaultProxy, startFaultProxy } from "../support/faultProxy.js";

// MaxDeliveryCount 3 (infra sets 10) so that the broker dead-letters within a test's time.
const QUEUE = "audit-events";
const clock = { nowInMs: () => Date.now() };
let broker: RunningServiceBusEmulator;
let azurite: RunningAzurite;
let proxy: FaultProxy;
let client: ServiceBusClient;
beforeAll(async () => {
  [broker, azurite] = await Promise.all([startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true, lockDurationInMs: 30_000, maxDeliveryCount: 3 }] }), startAzurite()]);
  proxy = await startFaultProxy({ port: Number(new URL(azurite.tableEndpoint).port) });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await broker?.stop();
  await azurite?.stop();
});

/** An appender and dead-letter store whose Table client goes through the proxy, as the app's does. */
function storesThroughProxy(): { ledger: TableAuditLedger; deadLetters: TableAuditDeadLetters } {
  const connectionString = azurite.connectionString.replace(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/, `TableEndpoint=http://127.0.0.1:${proxy.port}`);
  const options = {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
    additionalPolicies: [{ policy: tableDependencyPolicy({ breaker: new CircuitBreaker(clock, { openForInMs: 200 }), logger: silentLogger, tryTimeoutInMs: 1_500 }), position: "perCall" as const }],
  };
  const suffix = randomUUID().replaceAll("-", "").slice(0, 16);
  const ledger = new TableAuditLedger(TableClient.fromConnectionString(connectionString, `audit${suffix}`, options), { dedupeLookup: "orQuery" });
  const deadLetters = new TableAuditDeadLetters(TableClient.fromConnectionString(connectionString, `dead${suffix}`, options));
  return { ledger, deadLetters };
}

function startTrigger(ledger: TableAuditLedger, deadLetters: TableAuditDeadLetters, holdForInMs: number): RunningTrigger {
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const hold = { clock, holdForInMs, firstDelayInMs: 200, maxDelayInMs: 1_000, wait: (ms: number) => sleep(ms) };
  return startServiceBusTrigger({
    name: "appendAuditEvents",
    options: { ...appendAuditEventsOptions, handler: (messages, context) => handleAuditMessages(messages, context, { appender, deadLetters, logger: silentLogger, hold }) },
    queueName: QUEUE,
    client,
    maxConcurrentSessions: 2,
    log: () => undefined,
  });
}

async function send(chain: string, count: number): Promise<string[]> {
  const events = Array.from({ length: count }, (_, i) => makeAuditEvent({ project: chain }, i));
  const sender = client.createSender(QUEUE);
  await sender.sendMessages(events.map(toAuditMessage));
  await sender.close();
  return events.map((e) => e.eventId);
}

describe("a Table outage longer than the broker's patience", () => {
  it("with the hold, a 4 s outage burns no delivery: nothing is dead-lettered and every event is appended once", async () => {
    const { ledger, deadLetters } = storesThroughProxy();
    await ledger.getHead("held"); // creates the table while Table Storage is up
    await proxy.setMode("refuse");
    const trigger = startTrigger(ledger, deadLetters, 10_000);
    try {
      const ids = await send("held", 20);
      await sleep(4_000);
      await proxy.setMode("pass");
      expect(await eventually(async () => (await ledger.getHead("held"))?.size === ids.length, 20_000)).toBe(true);
    } finally {
      await trigger.stop();
      await proxy.setMode("pass");
    }
    expect(broker.queueDepth(`${QUEUE}/$DeadLetterQueue`)).toBe(0);
  }, 40_000);

  it("without a hold long enough, the broker dead-letters valid events; verify counts them (not complete); the replay brings every one back", async () => {
    const { ledger, deadLetters } = storesThroughProxy();
    await proxy.setMode("refuse");
    const trigger = startTrigger(ledger, deadLetters, 300);
    const queue = new ServiceBusAuditDeadLetterQueue(() => new ServiceBusClient(broker.connectionString), QUEUE);
    try {
      const ids = await send("lost", 20);
      expect(await eventually(async () => broker.queueDepth(`${QUEUE}/$DeadLetterQueue`) === ids.length, 20_000)).toBe(true);
      const backlog = (await countAuditBacklogs({ outbox: new InMemoryAuditOutbox(), deadLetters: { put: async () => undefined, list: async function* () {} }, deadLetterQueue: queue }))("lost");
      expect(backlog).toEqual({ outbox: 0, deadLetterQueue: 20, deadLetterStore: 0, complete: false });

      await proxy.setMode("pass");
      const result = await queue.replay();
      expect(result).toEqual({ replayed: 20, kept: 0, byChain: { lost: 20 } });
      expect(await eventually(async () => (await ledger.getHead("lost"))?.size === ids.length, 20_000)).toBe(true);
      const appended: string[] = [];
      for await (const entry of ledger.listEntries("lost")) appended.push(entry.eventId);
      expect(appended.sort()).toEqual([...ids].sort());
      expect(broker.queueDepth(`${QUEUE}/$DeadLetterQueue`)).toBe(0);
    } finally {
      await trigger.stop();
      await proxy.setMode("pass");
    }
  }, 40_000);

  it("packed messages (several events each) dead-lettered by the broker: counted by event, replayed packed, every event appended once", async () => {
    const { ledger, deadLetters } = storesThroughProxy();
    await proxy.setMode("refuse");
    const trigger = startTrigger(ledger, deadLetters, 300);
    const queue = new ServiceBusAuditDeadLetterQueue(() => new ServiceBusClient(broker.connectionString), QUEUE);
    try {
      const events = Array.from({ length: 20 }, (_, i) => makeAuditEvent({ project: "lost-packed" }, i));
      const sender = client.createSender(QUEUE);
      await sender.sendMessages([toPackedAuditMessage(events.slice(0, 12)), toPackedAuditMessage(events.slice(12))]);
      await sender.close();
      expect(await eventually(async () => broker.queueDepth(`${QUEUE}/$DeadLetterQueue`) === 2, 20_000)).toBe(true);
      const backlog = (await countAuditBacklogs({ outbox: new InMemoryAuditOutbox(), deadLetters: { put: async () => undefined, list: async function* () {} }, deadLetterQueue: queue }))("lost-packed");
      expect(backlog).toEqual({ outbox: 0, deadLetterQueue: 20, deadLetterStore: 0, complete: false });

      await proxy.setMode("pass");
      expect(await queue.replay()).toEqual({ replayed: 2, kept: 0, byChain: { "lost-packed": 2 } });
      expect(await eventually(async () => (await ledger.getHead("lost-packed"))?.size === events.length, 20_000)).toBe(true);
      const appended: string[] = [];
      for await (const entry of ledger.listEntries("lost-packed")) appended.push(entry.eventId);
      expect(appended).toEqual(events.map((event) => event.eventId));
      expect(broker.queueDepth(`${QUEUE}/$DeadLetterQueue`)).toBe(0);
    } finally {
      await trigger.stop();
      await proxy.setMode("pass");
    }
  }, 40_000);

  it("a message replayed too often stays in the dead-letter queue for an operator", async () => {
    const queue = new ServiceBusAuditDeadLetterQueue(() => new ServiceBusClient(broker.connectionString), QUEUE);
    const { ledger, deadLetters } = storesThroughProxy();
    await proxy.setMode("refuse");
    const trigger = startTrigger(ledger, deadLetters, 0);
    try {
      await send("poison", 1);
      expect(await eventually(async () => broker.queueDepth(`${QUEUE}/$DeadLetterQueue`) === 1, 20_000)).toBe(true);
      // One message: the replay stops after it (the trigger, which hands a redelivery over at once as
      // Azure's does, can dead-letter it again before a replay still listening would stop).
      expect(await queue.replay({ maxReplays: 1, maxMessages: 1 })).toMatchObject({ replayed: 1, kept: 0 });
      expect(await eventually(async () => broker.queueDepth(`${QUEUE}/$DeadLetterQueue`) === 1, 20_000)).toBe(true);
      expect(await queue.replay({ maxReplays: 1 })).toMatchObject({ replayed: 0, kept: 1 });
      expect(broker.queueDepth(`${QUEUE}/$DeadLetterQueue`)).toBe(1);
    } finally {
      await trigger.stop();
      await proxy.setMode("pass");
    }
  }, 40_000);
});
