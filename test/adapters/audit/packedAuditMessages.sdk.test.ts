import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher, toAuditMessage, toPackedAuditMessage } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { drainOutbox } from "../../../src/core/audit/OutboxAuditPublisher.js";
import { PACKED_AUDIT_FORMAT, packedAuditBody } from "../../../src/core/audit/auditMessageBody.js";
import { parseEntryBody } from "../../../src/core/audit/ChainEntry.js";
import { silentLogger } from "../../../src/core/logger.js";
import { appendAuditEventsOptions, handleAuditMessages } from "../../../src/functions/appendAuditEvents.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { eventually } from "../../support/drive.js";
import { eventsIn } from "../../support/auditQueueMessages.js";

/**
 * Packed audit messages (several events of one chain per Service Bus message) end to end with the real
 * SDK: the app's publisher -> the local Service Bus emulator -> the trigger as the local host feeds it
 * -> appendAuditEvents -> the chain. One queue per test, so the broker's counts are the test's own.
 */

const QUEUES = ["packed", "mixed", "invalid", "large", "outbox"];
let broker: RunningServiceBusEmulator;
let client: ServiceBusClient;
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => void escaped.push(error);
beforeAll(async () => {
  expect(coalesceAmqpWrites()).toBe(true);
  process.on("unhandledRejection", onEscape);
  broker = await startServiceBusEmulator({ queues: QUEUES.map((name) => ({ name, requiresSession: true })), port: 0 });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  process.off("unhandledRejection", onEscape);
  await client?.close();
  await broker?.stop();
  expect(escaped).toEqual([]);
});

/** The consumer as the local host runs it: sessions, batches, complete on return. */
function consume(queue: string): { ledger: InMemoryAuditLedger; deadLetters: InMemoryAuditDeadLetters; trigger: RunningTrigger } {
  const ledger = new InMemoryAuditLedger();
  const deadLetters = new InMemoryAuditDeadLetters();
  const appender = new AuditAppender({ ledger, clock: { nowInMs: () => Date.now() }, logger: silentLogger });
  const trigger = startServiceBusTrigger({
    name: "appendAuditEvents",
    options: { ...appendAuditEventsOptions, handler: (messages, context) => handleAuditMessages(messages, context, { appender, deadLetters, logger: silentLogger }) },
    queueName: queue,
    client,
    maxConcurrentSessions: 2,
    log: () => undefined,
  });
  return { ledger, deadLetters, trigger };
}

async function chainEventIds(ledger: InMemoryAuditLedger, chain: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of ledger.listEntries(chain)) ids.push(parseEntryBody(entry.canonical)?.event.eventId ?? "?");
  return ids;
}

const operations = (): Readonly<Record<string, number>> => broker.operations();
const delta = (before: Readonly<Record<string, number>>, kind: string): number => (operations()[kind] ?? 0) - (before[kind] ?? 0);

describe("packed audit messages on the Service Bus emulator", () => {
  it("concurrent publishes to one chain: far fewer messages delivered and settled than events, every event appended once, in publish order", async () => {
    const publisher = new ServiceBusAuditPublisher(client.createSender("packed"));
    const events = Array.from({ length: 200 }, (_, i) => makeAuditEvent({ project: "chain-packed" }, i));
    const before = { ...operations() };
    await Promise.all(events.map((event) => publisher.publish([event])));
    await publisher.close();
    const { ledger, trigger } = consume("packed");
    try {
      expect(await eventually(async () => (await ledger.getHead("chain-packed"))?.size === events.length, 20_000)).toBe(true);
      expect(await eventually(async () => broker.queueDepth("packed") === 0, 10_000)).toBe(true);
    } finally {
      await trigger.stop();
    }
    expect(await chainEventIds(ledger, "chain-packed")).toEqual(events.map((event) => event.eventId));
    const sends = delta(before, "send");
    const deliveries = delta(before, "receive");
    const settled = delta(before, "settle.complete");
    // Before packing: 200 deliveries and 200 settlements (one message per event).
    expect(sends).toBeLessThan(50);
    expect(deliveries).toBeLessThan(2 * sends);
    expect(deliveries).toBeLessThan(20);
    expect(deliveries).toBe(settled);
  });

  it("one-event messages of an older publisher, queued before the upgrade, and packed ones in the same session: all appended, in queue order", async () => {
    const old = Array.from({ length: 5 }, (_, i) => makeAuditEvent({ project: "chain-mixed" }, i));
    const fresh = Array.from({ length: 30 }, (_, i) => makeAuditEvent({ project: "chain-mixed" }, 5 + i));
    const sender = client.createSender("mixed");
    await sender.sendMessages(old.slice(0, 3).map(toAuditMessage));
    await sender.sendMessages(toPackedAuditMessage(fresh.slice(0, 10)));
    await sender.sendMessages(old.slice(3).map(toAuditMessage));
    await sender.sendMessages(toPackedAuditMessage(fresh.slice(10)));
    await sender.close();
    const { ledger, deadLetters, trigger } = consume("mixed");
    try {
      expect(await eventually(async () => (await ledger.getHead("chain-mixed"))?.size === 35, 20_000)).toBe(true);
      expect(await eventually(async () => broker.queueDepth("mixed") === 0, 10_000)).toBe(true);
    } finally {
      await trigger.stop();
    }
    const expected = [...old.slice(0, 3), ...fresh.slice(0, 10), ...old.slice(3), ...fresh.slice(10)].map((event) => event.eventId);
    expect(await chainEventIds(ledger, "chain-mixed")).toEqual(expected);
    expect(deadLetters.letters.size).toBe(0);
  });

  it("an invalid event inside a packed message: the valid ones are appended, the invalid one goes to the dead-letter store alone with its reason, and nothing stays in the queue", async () => {
    const good = Array.from({ length: 4 }, (_, i) => makeAuditEvent({ project: "chain-invalid" }, i));
    const bad = { ...makeAuditEvent({ project: "chain-invalid" }, 9), type: "not_a_type" };
    const message = toPackedAuditMessage(good);
    const body = packedAuditBody([good[0], good[1], bad, good[2], good[3]].map((event) => JSON.stringify(event)));
    const sender = client.createSender("invalid");
    await sender.sendMessages({ ...message, messageId: "pack-with-a-bad-event", body: Buffer.from(body) });
    await sender.close();
    const { ledger, deadLetters, trigger } = consume("invalid");
    try {
      expect(await eventually(async () => (await ledger.getHead("chain-invalid"))?.size === 4 && deadLetters.letters.size === 1, 20_000)).toBe(true);
      expect(await eventually(async () => broker.queueDepth("invalid") === 0, 10_000)).toBe(true);
    } finally {
      await trigger.stop();
    }
    expect(await chainEventIds(ledger, "chain-invalid")).toEqual(good.map((event) => event.eventId));
    const [letter] = [...deadLetters.letters.values()];
    expect(letter).toMatchObject({ messageId: "pack-with-a-bad-event#2", chainId: "chain-invalid", reason: expect.stringContaining("type") });
    // Its body is the bad event alone: replayed, it is an ordinary one-event message.
    expect(JSON.parse(Buffer.from(letter?.body ?? []).toString("utf8"))).toEqual(bad);
    expect(broker.queueDepth("invalid/$DeadLetterQueue")).toBe(0);
  });

  it("events over the message size limit (800 KB in one publish) are split into messages of at most 64 KB, every event once and in order", async () => {
    const publisher = new ServiceBusAuditPublisher(client.createSender("large"));
    // ~1.3 KB each (an allowed detail field at its longest), 600 of them: ~800 KB, so at least 13 messages.
    const events: AuditEvent[] = Array.from({ length: 600 }, (_, i) => makeAuditEvent({ project: "chain-large", details: { note: "x".repeat(1_024) } }, i));
    await publisher.publish(events.slice(0, 1)); // learns the link's limit
    await publisher.publish(events.slice(1));
    await publisher.close();
    const receiver = await client.acceptSession("large", "chain-large");
    const received: AuditEvent[] = [];
    let messages = 0;
    try {
      while (received.length < events.length) {
        const batch = await receiver.receiveMessages(50, { maxWaitTimeInMs: 1_000 });
        if (batch.length === 0) break;
        for (const message of batch) {
          await receiver.completeMessage(message);
          messages += 1;
          // Packed messages are closed at 64 KB (one billed operation each on Standard), far under the 256 KB limit.
          expect(Buffer.byteLength(JSON.stringify(message.body))).toBeLessThanOrEqual(65_536);
          if (eventsIn(message.body).length > 1) expect(message.subject).toBe(PACKED_AUDIT_FORMAT);
          received.push(...eventsIn(message.body));
        }
      }
    } finally {
      await receiver.close();
    }
    expect(received.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
    expect(messages).toBeGreaterThanOrEqual(13);
    expect(messages).toBeLessThan(20);
  });

  it("the outbox drained through the publisher goes packed; drained twice (a crash before the delete), every event is appended once", async () => {
    const events = Array.from({ length: 30 }, (_, i) => makeAuditEvent({ project: "chain-outbox" }, i));
    const outbox = new InMemoryAuditOutbox();
    await outbox.put(events);
    const publisher = new ServiceBusAuditPublisher(client.createSender("outbox"));
    const before = { ...operations() };
    // A crash between publish and delete: the same events are published again by the next drain.
    const kept = Object.assign(Object.create(outbox) as InMemoryAuditOutbox, { delete: async () => undefined });
    expect(await drainOutbox({ outbox: kept, publisher, logger: silentLogger }, { batchSize: 50 })).toEqual({ republished: 30, failed: 0 });
    expect(await drainOutbox({ outbox, publisher, logger: silentLogger }, { batchSize: 50 })).toEqual({ republished: 30, failed: 0 });
    await publisher.close();
    expect(outbox.events.size).toBe(0);
    const { ledger, deadLetters, trigger } = consume("outbox");
    try {
      expect(await eventually(async () => (await ledger.getHead("chain-outbox"))?.size === 30 && broker.queueDepth("outbox") === 0, 20_000)).toBe(true);
    } finally {
      await trigger.stop();
    }
    // Two drains of 30 events: two packed messages (the emulator has no duplicate detection), 60 events, 30 appended.
    expect(delta(before, "receive")).toBe(2);
    expect(await chainEventIds(ledger, "chain-outbox")).toEqual(events.map((event) => event.eventId));
    expect(deadLetters.letters.size).toBe(0);
  });
});
