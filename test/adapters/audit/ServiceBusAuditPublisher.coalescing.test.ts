import { ServiceBusClient, type ServiceBusMessage, type ServiceBusMessageBatch, type ServiceBusSender } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceBusEmulator, type RunningServiceBusEmulator } from "../../../local/servicebus/index.js";
import { ServiceBusAuditPublisher } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { eventsIn } from "../../support/auditQueueMessages.js";

/** Concurrent publishes to one chain share sends (group commit), on the emulator with the real SDK. */

const QUEUE = "audit-coalesced";
let broker: RunningServiceBusEmulator;
let client: ServiceBusClient;
beforeAll(async () => {
  broker = await startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true }], port: 0 });
  client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  await client.close();
  await broker.stop();
});

/** The real sender, counting sends (messages per send; a lone message counts 1, `singles` how many went so) and able to fail the next one. */
function countingSender(): { sender: ServiceBusSender; sends: number[]; singles: () => number; failNext: (error: Error) => void } {
  const sender = client.createSender(QUEUE);
  const sends: number[] = [];
  let singles = 0;
  let failure: Error | null = null;
  const send = sender.sendMessages.bind(sender);
  const isBatch = (messages: ServiceBusMessage | ServiceBusMessageBatch): messages is ServiceBusMessageBatch => "tryAddMessage" in messages;
  const counting = Object.assign(Object.create(sender) as ServiceBusSender, {
    sendMessages: async (messages: ServiceBusMessage | ServiceBusMessageBatch) => {
      if (isBatch(messages)) sends.push(messages.count);
      else {
        sends.push(1);
        singles += 1;
      }
      if (failure) {
        const error = failure;
        failure = null;
        throw error;
      }
      await send(messages);
    },
    createMessageBatch: sender.createMessageBatch.bind(sender),
    close: sender.close.bind(sender),
  });
  return { sender: counting, sends, singles: () => singles, failNext: (error) => void (failure = error) };
}

/** The events of a chain's messages, in order (packed messages unpacked); `messages` counts the messages. */
async function receiveChain(chain: string, count: number): Promise<AuditEvent[] & { messages?: number }> {
  const receiver = await client.acceptSession(QUEUE, chain);
  const out: AuditEvent[] & { messages?: number } = [];
  out.messages = 0;
  try {
    while (out.length < count) {
      const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: 500 });
      if (batch.length === 0) break;
      for (const message of batch) {
        await receiver.completeMessage(message);
        out.push(...eventsIn(message.body));
        out.messages += 1;
      }
    }
  } finally {
    await receiver.close();
  }
  return out;
}

describe("ServiceBusAuditPublisher coalescing", () => {
  it("sends 200 concurrent publishes to one chain in far fewer transfers and messages, every event once and in publish order", async () => {
    const { sender, sends } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    const events = Array.from({ length: 200 }, (_, index) => makeAuditEvent({ project: "chain-x" }, index));
    await Promise.all(events.map((event) => publisher.publish([event])));
    expect(sends.length).toBeLessThan(50);
    // Packed: a few messages (one per 64 KB of events per send), not one per event.
    const messages = sends.reduce((sum, count) => sum + count, 0);
    expect(messages).toBeLessThan(2 * sends.length);
    expect(messages).toBeLessThan(20);
    const received = await receiveChain("chain-x", 200);
    expect(received.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
    expect(received.messages).toBe(messages);
    await publisher.close();
  });

  it("a failed transfer rejects exactly the publishes it carried; the others resolve", async () => {
    const { sender, failNext } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    // The first publish goes alone (nothing in flight); the next ones queue behind it and share the second send.
    const first = publisher.publish([makeAuditEvent({ project: "chain-y" })]);
    const queued = Array.from({ length: 5 }, (_, index) => publisher.publish([makeAuditEvent({ project: "chain-y" }, index)]));
    failNext(new Error("amqp:internal-error"));
    const outcomes = await Promise.allSettled([first, ...queued]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect(await receiveChain("chain-y", 5)).toHaveLength(5);
    await publisher.close();
  });

  it("sends a lone event as one message, not a batch of one, once the link's size limit is known; it arrives as the same event", async () => {
    const { sender, sends, singles } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    const events = Array.from({ length: 3 }, (_, index) => makeAuditEvent({ project: "chain-single" }, index));
    for (const event of events) await publisher.publish([event]);
    // The first send is a batch (it learns the limit); the next two go as themselves.
    expect(sends).toEqual([1, 1, 1]);
    expect(singles()).toBe(2);
    const received = await receiveChain("chain-single", 3);
    expect([...received]).toEqual(events);
    expect(received.messages).toBe(3);
    await publisher.close();
  });

  it("a lone event sent as itself: a failed send rejects its publish, and the next one goes through", async () => {
    const { sender, singles, failNext } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    await publisher.publish([makeAuditEvent({ project: "chain-single-fail" }, 0)]);
    failNext(new Error("amqp:internal-error"));
    await expect(publisher.publish([makeAuditEvent({ project: "chain-single-fail" }, 1)])).rejects.toThrow("amqp:internal-error");
    await publisher.publish([makeAuditEvent({ project: "chain-single-fail" }, 2)]);
    expect(singles()).toBe(2);
    expect((await receiveChain("chain-single-fail", 2)).map((event) => event.ts)).toEqual([makeAuditEvent({}, 0).ts, makeAuditEvent({}, 2).ts]);
    await publisher.close();
  });

  it("an event too large for any message is refused with a RangeError on the batch path, also after the limit is known", async () => {
    const { sender, singles } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    await publisher.publish([makeAuditEvent({ project: "chain-large" }, 0)]);
    const huge = makeAuditEvent({ project: "chain-large", details: { padding: "x".repeat(2_000_000) } }, 1);
    await expect(publisher.publish([huge])).rejects.toBeInstanceOf(RangeError);
    expect(singles()).toBe(0);
    await publisher.close();
  });

  it("never mixes chains in one batch", async () => {
    const { sender, sends } = countingSender();
    const publisher = new ServiceBusAuditPublisher(sender);
    await Promise.all([
      ...Array.from({ length: 10 }, (_, index) => publisher.publish([makeAuditEvent({ project: "chain-p" }, index)])),
      ...Array.from({ length: 10 }, (_, index) => publisher.publish([makeAuditEvent({ project: "chain-q" }, index)])),
    ]);
    expect(sends.length).toBeGreaterThanOrEqual(2);
    const [p, q] = await Promise.all([receiveChain("chain-p", 10), receiveChain("chain-q", 10)]);
    expect(p.every((event) => event.project === "chain-p")).toBe(true);
    expect(q.every((event) => event.project === "chain-q")).toBe(true);
    expect(p.length + q.length).toBe(20);
    await publisher.close();
  });
});
