import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceBusEmulator, type RunningServiceBusEmulator } from "../../../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { appendAuditMessages } from "../../../src/functions/appendAuditEvents.js";
import { describeAuditPublisherContract, type PublishedEvent } from "../../contracts/auditPublisher.contract.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { eventsIn } from "../../support/auditQueueMessages.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

const QUEUES = ["audit-a", "audit-b", "audit-c"];
let broker: RunningServiceBusEmulator;
let client: ServiceBusClient;
beforeAll(async () => {
  // As the app builds its clients: the SDK's frames coalesced per turn, so the contract runs against that.
  expect(coalesceAmqpWrites()).toBe(true);
  broker = await startServiceBusEmulator({ queues: QUEUES.map((name) => ({ name, requiresSession: true })), port: 0 });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  await client.close();
  await broker.stop();
});

/** Drains every session of a queue (bounded) until it has read `count` events, completing what it reads. */
async function receiveAll(queue: string, count: number): Promise<ServiceBusReceivedMessage[]> {
  const out: ServiceBusReceivedMessage[] = [];
  let events = 0;
  for (let sessions = 0; events < count && sessions < 10; sessions += 1) {
    const receiver = await client.acceptNextSession(queue, { maxAutoLockRenewalDurationInMs: 0 });
    try {
      for (;;) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 });
        if (batch.length === 0) break;
        for (const m of batch) await receiver.completeMessage(m);
        out.push(...batch);
        events += batch.reduce((sum, m) => sum + eventsIn(m.body).length, 0);
      }
    } finally {
      await receiver.close();
    }
  }
  return out;
}

describeAuditPublisherContract("ServiceBusAuditPublisher on the Service Bus emulator", async () => {
  const publisher = new ServiceBusAuditPublisher(client.createSender("audit-a"));
  return {
    publisher,
    received: async (count): Promise<PublishedEvent[]> => {
      const messages = await receiveAll("audit-a", count);
      return messages.flatMap((m) => {
        const events = eventsIn(m.body);
        // A one-event message is named for its event; a packed one for the digest of its events' ids.
        if (events.length === 1) expect(m.messageId).toBe(events[0]?.eventId);
        else expect(m.messageId).toMatch(/^pack-[0-9a-f]{64}$/);
        return events.map((event) => ({ event, chainId: String(m.sessionId) }));
      });
    },
  };
});

describe("ServiceBusAuditPublisher -> appendAuditEvents", () => {
  it("events published to the queue are appended once, even when redelivered; bad bodies are reported invalid", async () => {
    const publisher = new ServiceBusAuditPublisher(client.createSender("audit-b"));
    const events = Array.from({ length: 120 }, (_, i) => makeAuditEvent({ project: "sb-chain" }, i));
    await publisher.publish(events);
    await publisher.close();
    const messages = await receiveAll("audit-b", events.length);
    // One publish of 120 events of one chain: one packed message.
    expect(messages).toHaveLength(1);
    expect(messages.flatMap((m) => eventsIn(m.body)).map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));

    const ledger = new InMemoryAuditLedger();
    const anchor = new InMemoryCheckpointAnchor();
    const signer = new InMemoryCheckpointSigner();
    const appender = new AuditAppender({ ledger, clock: new ManualClock(), logger: silentLogger });
    const batch = messages.map((m) => ({ messageId: String(m.messageId), body: m.body }));
    const deadLetters = new InMemoryAuditDeadLetters();
    const deps = { appender, deadLetters, logger: silentLogger };
    const first = await appendAuditMessages([...batch, { messageId: "junk", sessionId: "sb-chain", body: Buffer.from("{oops") }], deps);
    expect(first.filter((o) => o.outcome === "appended")).toHaveLength(120);
    expect(first).toHaveLength(121);
    expect(first.at(-1)).toMatchObject({ index: 1, outcome: "invalid", messageId: "junk" });
    expect([...deadLetters.letters.values()]).toMatchObject([{ messageId: "junk", chainId: "sb-chain", reason: expect.stringContaining("invalid_json"), body: Buffer.from("{oops") }]);
    const again = await appendAuditMessages(batch, deps);
    expect(again).toHaveLength(120);
    expect(again.every((o) => o.outcome === "duplicate")).toBe(true);
    expect(await verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, "sb-chain")).toMatchObject({ intact: true, entriesChecked: 120 });
  });

  it("rejects when the broker cannot take the events (so the caller fails closed or uses the outbox)", async () => {
    const down = new ServiceBusClient(broker.connectionString.replace(/:\d+;/, ":1;"), { retryOptions: { maxRetries: 0, timeoutInMs: 2_000 } });
    const publisher = new ServiceBusAuditPublisher(down.createSender("audit-c"), () => down.close());
    await expect(publisher.publish([makeAuditEvent()])).rejects.toThrow();
    await publisher.close().catch(() => undefined);
  });
});
