import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { startServiceBusEmulator, type RunningServiceBusEmulator } from "../../../local/servicebus/index.js";
import { TableAuditLedger } from "../../../src/adapters/tables/TableAuditLedger.js";
import { TableAuditDeadLetters } from "../../../src/adapters/tables/audit/TableAuditDeadLetters.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { type StoredDeadLetter } from "../../../src/core/audit/AuditDeadLetters.js";
import { silentLogger } from "../../../src/core/logger.js";
import { appendAuditEventsOptions, handleAuditMessages } from "../../../src/functions/appendAuditEvents.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { tableClient } from "../../adapters/audit/azuriteStack.js";

const QUEUE = "audit-events";
let broker: RunningServiceBusEmulator;
let azurite: RunningAzurite;
let client: ServiceBusClient;
beforeAll(async () => {
  [broker, azurite] = await Promise.all([startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true, lockDurationInMs: 30_000 }], port: 0 }), startAzurite()]);
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  await client?.close();
  await broker?.stop();
  await azurite?.stop();
});

async function until(check: () => Promise<boolean>, rounds = 100): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("condition not reached");
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("appendAuditEvents on the local host and the Service Bus emulator", () => {
  it("dead-letters invalid messages with their reason itself (as in Azure); the host completes the batch and the broker's DLQ stays empty", async () => {
    const ledger = new TableAuditLedger(tableClient(azurite), { dedupeLookup: "orQuery" });
    const deadLetters = new TableAuditDeadLetters(tableClient(azurite));
    const appender = new AuditAppender({ ledger, clock: { nowInMs: () => Date.now() }, logger: silentLogger });
    const events = Array.from({ length: 5 }, (_, i) => makeAuditEvent({ project: "proj-x" }, i));
    const sender = client.createSender(QUEUE);
    await sender.sendMessages([
      ...events.slice(0, 3).map((e) => ({ messageId: e.eventId, sessionId: "proj-x", body: e, contentType: "application/json" })),
      { messageId: "not-json", sessionId: "proj-x", body: Buffer.from("{oops") },
      { messageId: "with-prompt", sessionId: "proj-x", body: { ...makeAuditEvent({ project: "proj-x" }), prompt: "my SSN is 078-05-1120" }, contentType: "application/json" },
      ...events.slice(3).map((e) => ({ messageId: e.eventId, sessionId: "proj-x", body: e, contentType: "application/json" })),
    ]);
    await sender.close();

    const trigger: RunningTrigger = startServiceBusTrigger({
      name: "appendAuditEvents",
      options: { ...appendAuditEventsOptions, handler: (messages, context) => handleAuditMessages(messages, context, { appender, deadLetters, logger: silentLogger }) },
      queueName: QUEUE,
      client,
      maxConcurrentSessions: 1,
      log: () => undefined,
    });
    let letters: StoredDeadLetter[] = [];
    try {
      await until(async () => {
        letters = await collect(deadLetters.list());
        return (await ledger.getHead("proj-x"))?.size === 5 && letters.length === 2;
      });
    } finally {
      await trigger.stop();
    }

    const byId = new Map(letters.map((l) => [l.messageId, l]));
    expect(byId.get("not-json")).toMatchObject({ chainId: "proj-x", reason: expect.stringContaining("invalid_json"), deliveryCount: 0 });
    expect(Buffer.from(byId.get("not-json")?.body ?? []).toString("utf8")).toBe("{oops");
    expect(byId.get("with-prompt")?.reason).toContain("unrecognized_keys");
    expect(byId.get("with-prompt")?.reason).not.toContain("078-05-1120");
    expect(byId.get("with-prompt")?.enqueuedTimeUtc).toMatch(/^\d{4}-\d\d-\d\dT/);
    const appended = await collect(ledger.listEntries("proj-x"));
    expect(appended.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));

    // Nothing left on the queue, nothing in the broker's dead-letter queue.
    const dlq = client.createReceiver(QUEUE, { subQueueType: "deadLetter" });
    expect(await dlq.peekMessages(10)).toHaveLength(0);
    await dlq.close();
    const session = await client.acceptSession(QUEUE, "proj-x");
    expect(await session.peekMessages(10)).toHaveLength(0);
    await session.close();
  });
});
