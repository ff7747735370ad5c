import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

/** Non-session queues with the real SDK: send, receive, settle, peek, schedule, dead-letter. */

let emulator: RunningServiceBusEmulator;
let client: ServiceBusClient;
const receivers: ServiceBusReceiver[] = [];

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    queues: [
      { name: "sends" },
      { name: "settle" },
      { name: "rad" },
      { name: "defer" },
      { name: "dead" },
      { name: "peek" },
      { name: "scheduled" },
      { name: "renew" },
      { name: "subscribe" },
    ],
  });
  client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 10_000 } });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await client?.close();
  await emulator?.stop();
});

function receiverFor(queue: string, mode: "peekLock" | "receiveAndDelete" = "peekLock"): ServiceBusReceiver {
  const receiver = client.createReceiver(queue, { receiveMode: mode, maxAutoLockRenewalDurationInMs: 0 });
  receivers.push(receiver);
  return receiver;
}

async function receiveExactly(receiver: ServiceBusReceiver, count: number): Promise<ServiceBusReceivedMessage[]> {
  const got: ServiceBusReceivedMessage[] = [];
  for (let attempt = 0; attempt < 20 && got.length < count; attempt++) {
    got.push(...(await receiver.receiveMessages(count - got.length, { maxWaitTimeInMs: 500 })));
  }
  return got;
}

describe("Service Bus emulator: queues", () => {
  it("accepts a single message, an array and a batch, keeping bodies and properties", async () => {
    const sender = client.createSender("sends");
    await sender.sendMessages({ body: { n: 1 }, applicationProperties: { kind: "single", size: 3 }, subject: "s1" });
    await sender.sendMessages([{ body: "two" }, { body: Buffer.from([1, 2, 3]), contentType: "application/octet-stream" }]);
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(batch.tryAddMessage({ body: `batched-${i}`, messageId: `id-${i}` })).toBe(true);
    await sender.sendMessages(batch);
    await sender.close();
    expect(emulator.queueDepth("sends")).toBe(8);

    const receiver = receiverFor("sends");
    const got = await receiveExactly(receiver, 8);
    expect(got.map((m) => m.body as unknown)).toEqual([
      { n: 1 },
      "two",
      Buffer.from([1, 2, 3]),
      "batched-0",
      "batched-1",
      "batched-2",
      "batched-3",
      "batched-4",
    ]);
    expect(got[0]?.applicationProperties).toEqual({ kind: "single", size: 3 });
    expect(got[0]?.subject).toBe("s1");
    expect(got[2]?.contentType).toBe("application/octet-stream");
    expect(got[3]?.messageId).toBe("id-0");
    expect(got[1]?.messageId).toBeTruthy(); // the broker gives one when the sender did not
    expect(got.map((m) => m.sequenceNumber?.toNumber())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const message of got) {
      expect(message.deliveryCount).toBe(0);
      expect(message.lockToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(message.lockedUntilUtc?.getTime()).toBeGreaterThan(Date.now());
      expect(message.enqueuedTimeUtc).toBeInstanceOf(Date);
      await receiver.completeMessage(message);
    }
    expect(emulator.queueDepth("sends")).toBe(0);
  });

  it("abandon redelivers with deliveryCount + 1 and modified properties; complete removes", async () => {
    const sender = client.createSender("settle");
    await sender.sendMessages({ body: "a" });
    await sender.close();
    const receiver = receiverFor("settle");
    const [first] = await receiveExactly(receiver, 1);
    expect(first?.deliveryCount).toBe(0);
    await receiver.abandonMessage(first!, { note: "tried" });
    const [second] = await receiveExactly(receiver, 1);
    expect(second?.body).toBe("a");
    expect(second?.deliveryCount).toBe(1);
    expect(second?.applicationProperties?.note).toBe("tried");
    expect(second?.lockToken).not.toBe(first?.lockToken);
    await receiver.completeMessage(second!);
    expect(emulator.queueDepth("settle")).toBe(0);
  });

  it("receiveAndDelete removes on delivery", async () => {
    const sender = client.createSender("rad");
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await sender.close();
    const receiver = receiverFor("rad", "receiveAndDelete");
    const got = await receiveExactly(receiver, 3);
    expect(got.map((m) => m.body as unknown)).toEqual([1, 2, 3]);
    expect(got.every((m) => m.lockToken === undefined)).toBe(true);
    expect(emulator.queueDepth("rad")).toBe(0);
  });

  it("defer, then receive by sequence number and complete over $management", async () => {
    const sender = client.createSender("defer");
    await sender.sendMessages([{ body: "later" }, { body: "now" }]);
    await sender.close();
    const receiver = receiverFor("defer");
    const got = await receiveExactly(receiver, 2);
    const later = got.find((m) => m.body === "later")!;
    await receiver.deferMessage(later);
    await receiver.completeMessage(got.find((m) => m.body === "now")!);
    expect(emulator.queueDepth("defer")).toBe(1);
    // A deferred message is not delivered again by receive.
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
    const [peeked] = await receiver.peekMessages(1, { fromSequenceNumber: later.sequenceNumber! });
    expect(peeked?.state).toBe("deferred");
    const [deferred] = await receiver.receiveDeferredMessages(later.sequenceNumber!);
    expect(deferred?.body).toBe("later");
    expect(deferred?.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    await receiver.completeMessage(deferred!);
    expect(emulator.queueDepth("defer")).toBe(0);
    await expect(receiver.receiveDeferredMessages(later.sequenceNumber!)).rejects.toMatchObject({
      code: "MessageNotFound",
    });
  });

  it("dead-letters with reason and description into $DeadLetterQueue", async () => {
    const sender = client.createSender("dead");
    await sender.sendMessages({ body: "poison", applicationProperties: { keep: true } });
    await sender.close();
    const receiver = receiverFor("dead");
    const [message] = await receiveExactly(receiver, 1);
    await receiver.deadLetterMessage(message!, { deadLetterReason: "Bad", deadLetterErrorDescription: "cannot parse" });
    expect(emulator.queueDepth("dead")).toBe(0);
    expect(emulator.queueDepth("dead/$DeadLetterQueue")).toBe(1);
    const dlq = client.createReceiver("dead", { subQueueType: "deadLetter", maxAutoLockRenewalDurationInMs: 0 });
    receivers.push(dlq);
    const [dead] = await receiveExactly(dlq, 1);
    expect(dead?.body).toBe("poison");
    expect(dead?.deadLetterReason).toBe("Bad");
    expect(dead?.deadLetterErrorDescription).toBe("cannot parse");
    expect(dead?.applicationProperties?.keep).toBe(true);
    await dlq.completeMessage(dead!);
    expect(emulator.queueDepth("dead/$DeadLetterQueue")).toBe(0);
  });

  it("peeks without locking, in order, from a sequence number", async () => {
    const sender = client.createSender("peek");
    await sender.sendMessages([{ body: "p1" }, { body: "p2" }, { body: "p3" }]);
    await sender.close();
    const receiver = receiverFor("peek");
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => m.body as unknown)).toEqual(["p1", "p2", "p3"]);
    expect(peeked.every((m) => m.lockToken === undefined && m.state === "active")).toBe(true);
    // The receiver remembers where it stopped.
    expect(await receiver.peekMessages(2)).toEqual([]);
    const fromSecond = await receiver.peekMessages(2, { fromSequenceNumber: peeked[1]!.sequenceNumber! });
    expect(fromSecond.map((m) => m.body as unknown)).toEqual(["p2", "p3"]);
    // Peeking locks nothing: all three are still received.
    expect((await receiveExactly(receiver, 3)).map((m) => m.body as unknown)).toEqual(["p1", "p2", "p3"]);
    expect(emulator.queueDepth("peek")).toBe(3);
  });

  it("schedules, cancels, and delivers a scheduled message when due", async () => {
    const sender = client.createSender("scheduled");
    const soon = new Date(Date.now() + 600);
    const far = new Date(Date.now() + 3_600_000);
    const [soonSeq] = await sender.scheduleMessages({ body: "soon" }, soon);
    const [farSeq] = await sender.scheduleMessages({ body: "far" }, far);
    expect(soonSeq).toBeDefined();
    expect(farSeq?.toNumber()).toBeGreaterThan(soonSeq!.toNumber());
    const receiver = receiverFor("scheduled");
    const peeked = await receiver.peekMessages(10, { fromSequenceNumber: soonSeq! });
    expect(peeked.map((m) => m.state)).toEqual(["scheduled", "scheduled"]);
    await sender.cancelScheduledMessages(farSeq!);
    expect(emulator.queueDepth("scheduled")).toBe(1);
    const [due] = await receiveExactly(receiver, 1);
    expect(due?.body).toBe("soon");
    expect(Date.now()).toBeGreaterThanOrEqual(soon.getTime());
    await receiver.completeMessage(due!);
    await sender.close();
    expect(emulator.queueDepth("scheduled")).toBe(0);
  });

  it("renews a message lock over $management", async () => {
    const sender = client.createSender("renew");
    await sender.sendMessages({ body: "r" });
    await sender.close();
    const receiver = receiverFor("renew");
    const [message] = await receiveExactly(receiver, 1);
    const before = message!.lockedUntilUtc!.getTime();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = await receiver.renewMessageLock(message!);
    expect(after.getTime()).toBeGreaterThan(before);
    await receiver.completeMessage(message!);
    await expect(receiver.renewMessageLock(message!)).rejects.toMatchObject({ code: "MessageLockLost" });
  });

  it("delivers to a subscribe() handler", async () => {
    const sender = client.createSender("subscribe");
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await sender.close();
    const receiver = receiverFor("subscribe");
    const bodies: unknown[] = [];
    let subscription: { close(): Promise<void> } | undefined;
    await new Promise<void>((resolve, reject) => {
      subscription = receiver.subscribe(
        {
          processMessage: async (message) => {
            bodies.push(message.body);
            if (bodies.length === 3) resolve();
          },
          processError: async (args) => reject(args.error),
        },
        { autoCompleteMessages: true },
      );
    });
    expect(bodies).toEqual([1, 2, 3]);
    // autoComplete settles after processMessage returns; wait (bounded) for it to reach the broker.
    for (let i = 0; i < 100 && emulator.queueDepth("subscribe") > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await subscription?.close();
    expect(emulator.queueDepth("subscribe")).toBe(0);
  });
});
