import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

/** Lock expiry and the max delivery count, with a short (2 s) lock and auto-renewal off. */

let emulator: RunningServiceBusEmulator;
let client: ServiceBusClient;
const receivers: ServiceBusReceiver[] = [];

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    queues: [
      { name: "expiry", lockDurationInMs: 2_000, maxDeliveryCount: 2 },
      { name: "abandons", maxDeliveryCount: 3 },
      { name: "short-sessions", requiresSession: true, lockDurationInMs: 2_000 },
    ],
  });
  client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 10_000 } });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await client?.close();
  await emulator?.stop();
});

function receiverFor(queue: string, options: { subQueueType?: "deadLetter" } = {}): ServiceBusReceiver {
  const receiver = client.createReceiver(queue, { ...options, maxAutoLockRenewalDurationInMs: 0 });
  receivers.push(receiver);
  return receiver;
}

async function receiveOne(receiver: ServiceBusReceiver): Promise<ServiceBusReceivedMessage> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 });
    if (message) return message;
  }
  throw new Error("no message arrived");
}

/** Waits until the broker's lock on `message` has passed (it sweeps every 100 ms). */
async function waitForLockToExpire(message: ServiceBusReceivedMessage): Promise<void> {
  const until = message.lockedUntilUtc?.getTime() ?? 0;
  expect(until).toBeGreaterThan(Date.now());
  await new Promise((resolve) => setTimeout(resolve, until - Date.now() + 250));
}

describe("Service Bus emulator: locks", () => {
  it("redelivers after lock expiry with deliveryCount + 1, refuses a late complete, dead-letters past the max", async () => {
    const sender = client.createSender("expiry");
    await sender.sendMessages({ body: "slow" });
    await sender.close();
    const receiver = receiverFor("expiry");

    const first = await receiveOne(receiver);
    expect(first.deliveryCount).toBe(0);
    await waitForLockToExpire(first);
    await expect(receiver.completeMessage(first)).rejects.toMatchObject({ code: "MessageLockLost" });

    const second = await receiveOne(receiver);
    expect(second.body).toBe("slow");
    expect(second.deliveryCount).toBe(1);
    expect(second.lockToken).not.toBe(first.lockToken);
    await waitForLockToExpire(second);

    // Two failed deliveries with maxDeliveryCount 2: the message is in the dead-letter queue.
    expect(emulator.queueDepth("expiry")).toBe(0);
    expect(emulator.queueDepth("expiry/$DeadLetterQueue")).toBe(1);
    const dlq = receiverFor("expiry", { subQueueType: "deadLetter" });
    const dead = await receiveOne(dlq);
    expect(dead.body).toBe("slow");
    expect(dead.deadLetterReason).toBe("MaxDeliveryCountExceeded");
    await dlq.completeMessage(dead);
  });

  it("dead-letters after maxDeliveryCount abandons", async () => {
    const sender = client.createSender("abandons");
    await sender.sendMessages({ body: "bad" });
    await sender.close();
    const receiver = receiverFor("abandons");
    for (let delivery = 0; delivery < 3; delivery++) {
      const message = await receiveOne(receiver);
      expect(message.deliveryCount).toBe(delivery);
      await receiver.abandonMessage(message);
    }
    expect(emulator.queueDepth("abandons")).toBe(0);
    expect(emulator.queueDepth("abandons/$DeadLetterQueue")).toBe(1);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 200 })).toEqual([]);
  });

  it("detaches a session receiver whose session lock expired, and frees the session", async () => {
    const sender = client.createSender("short-sessions");
    await sender.sendMessages({ body: "held", sessionId: "short" });
    await sender.close();
    const holder = await client.acceptSession("short-sessions", "short", { maxAutoLockRenewalDurationInMs: 0 });
    const [message] = await holder.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(message?.deliveryCount).toBe(0);
    const until = holder.sessionLockedUntilUtc.getTime();
    await new Promise((resolve) => setTimeout(resolve, until - Date.now() + 250));
    // The broker detached the link with com.microsoft:session-lock-lost.
    await expect(holder.completeMessage(message!)).rejects.toMatchObject({ code: "SessionLockLost" });
    await holder.close();
    const next = await client.acceptSession("short-sessions", "short", { maxAutoLockRenewalDurationInMs: 0 });
    const [again] = await next.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(again?.body).toBe("held");
    expect(again?.deliveryCount).toBe(1);
    await next.completeMessage(again!);
    await next.close();
    expect(emulator.queueDepth("short-sessions")).toBe(0);
  });
});
