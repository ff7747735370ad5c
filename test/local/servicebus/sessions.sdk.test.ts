import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusSessionReceiver,
} from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

/** Session queues with the real SDK: FIFO per session, one holder, next session, state, lock renewal. */

let emulator: RunningServiceBusEmulator;
let client: ServiceBusClient;
const receivers: ServiceBusSessionReceiver[] = [];

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    queues: [
      { name: "fifo", requiresSession: true },
      { name: "holder", requiresSession: true },
      { name: "next", requiresSession: true },
      { name: "state", requiresSession: true },
      { name: "release", requiresSession: true },
      { name: "empty", requiresSession: true },
      { name: "waiting", requiresSession: true },
      { name: "plain" },
    ],
  });
  client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await client?.close();
  await emulator?.stop();
});

async function accept(queue: string, sessionId?: string): Promise<ServiceBusSessionReceiver> {
  const receiver =
    sessionId === undefined ? await client.acceptNextSession(queue) : await client.acceptSession(queue, sessionId);
  receivers.push(receiver);
  return receiver;
}

async function receiveExactly(receiver: ServiceBusSessionReceiver, count: number): Promise<ServiceBusReceivedMessage[]> {
  const got: ServiceBusReceivedMessage[] = [];
  for (let attempt = 0; attempt < 20 && got.length < count; attempt++) {
    got.push(...(await receiver.receiveMessages(count - got.length, { maxWaitTimeInMs: 500 })));
  }
  return got;
}

describe("Service Bus emulator: sessions", () => {
  it("keeps FIFO order within each session", async () => {
    const sender = client.createSender("fifo");
    const messages = Array.from({ length: 30 }, (_, i) => ({ body: i, sessionId: ["a", "b", "c"][i % 3]! }));
    await sender.sendMessages(messages);
    await sender.close();
    for (const sessionId of ["c", "a", "b"]) {
      const receiver = await accept("fifo", sessionId);
      expect(receiver.sessionId).toBe(sessionId);
      expect(receiver.sessionLockedUntilUtc?.getTime()).toBeGreaterThan(Date.now());
      const got = await receiveExactly(receiver, 10);
      expect(got.every((m) => m.sessionId === sessionId)).toBe(true);
      expect(got.map((m) => m.body as number)).toEqual(messages.filter((m) => m.sessionId === sessionId).map((m) => m.body));
      for (const message of got) await receiver.completeMessage(message);
    }
    expect(emulator.queueDepth("fifo")).toBe(0);
  });

  it("lets only one receiver hold a session", async () => {
    const sender = client.createSender("holder");
    await sender.sendMessages({ body: "x", sessionId: "only" });
    await sender.close();
    const first = await accept("holder", "only");
    await expect(client.acceptSession("holder", "only")).rejects.toMatchObject({ code: "SessionCannotBeLocked" });
    await first.close();
    const second = await accept("holder", "only");
    const [message] = await receiveExactly(second, 1);
    expect(message?.body).toBe("x");
    await second.completeMessage(message!);
  });

  it("acceptNextSession takes the session with the oldest message, and skips held ones", async () => {
    const sender = client.createSender("next");
    await sender.sendMessages([
      { body: 1, sessionId: "s1" },
      { body: 2, sessionId: "s2" },
    ]);
    await sender.close();
    const first = await accept("next");
    expect(first.sessionId).toBe("s1");
    const second = await accept("next");
    expect(second.sessionId).toBe("s2");
    const [message] = await receiveExactly(second, 1);
    expect(message?.body).toBe(2);
    await second.completeMessage(message!);
  });

  it("acceptNextSession gives up with an error when no session has messages", async () => {
    const impatient = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 1_500 } });
    try {
      await expect(impatient.acceptNextSession("empty")).rejects.toBeInstanceOf(Error);
    } finally {
      await impatient.close();
    }
  });

  it("acceptNextSession waits for a session to get a message", async () => {
    const pending = accept("waiting");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sender = client.createSender("waiting");
    await sender.sendMessages({ body: "arrived", sessionId: "late" });
    await sender.close();
    const receiver = await pending;
    expect(receiver.sessionId).toBe("late");
    const [message] = await receiveExactly(receiver, 1);
    expect(message?.body).toBe("arrived");
    await receiver.completeMessage(message!);
  });

  it("gets and sets session state and renews the session lock", async () => {
    const receiver = await accept("state", "with-state");
    expect(await receiver.getSessionState()).toBeNull();
    await receiver.setSessionState({ step: 2 });
    expect(await receiver.getSessionState()).toEqual({ step: 2 });
    const before = receiver.sessionLockedUntilUtc.getTime();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const renewed = await receiver.renewSessionLock();
    expect(renewed.getTime()).toBeGreaterThan(before);
    await receiver.close();
    const again = await accept("state", "with-state");
    expect(await again.getSessionState()).toEqual({ step: 2 });
    await again.setSessionState(null);
    expect(await again.getSessionState()).toBeNull();
  });

  it("redelivers unsettled messages with deliveryCount + 1 when the holder closes", async () => {
    const sender = client.createSender("release");
    await sender.sendMessages([
      { body: "r1", sessionId: "rel" },
      { body: "r2", sessionId: "rel" },
    ]);
    await sender.close();
    const first = await accept("release", "rel");
    const got = await receiveExactly(first, 2);
    expect(got.map((m) => m.deliveryCount)).toEqual([0, 0]);
    await first.completeMessage(got[0]!);
    await first.close();
    const second = await accept("release", "rel");
    const [again] = await receiveExactly(second, 1);
    expect(again?.body).toBe("r2");
    expect(again?.deliveryCount).toBe(1);
    await second.completeMessage(again!);
    expect(emulator.queueDepth("release")).toBe(0);
  });

  it("rejects a message without session id sent to a session queue", async () => {
    const sender = client.createSender("fifo");
    await expect(sender.sendMessages({ body: "no session" })).rejects.toThrow(/requires sessions/);
    await sender.close();
    expect(emulator.queueDepth("fifo")).toBe(0);
  });

  it("refuses a plain receiver on a session queue and a session receiver on a plain queue", async () => {
    const plain = client.createReceiver("fifo");
    await expect(plain.receiveMessages(1, { maxWaitTimeInMs: 500 })).rejects.toThrow(/requires sessions/);
    await plain.close();
    await expect(client.acceptSession("plain", "x")).rejects.toThrow(/does not require sessions/);
  });
});
