import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { ServiceBusClient, type ServiceBusSessionReceiver, type ServiceBusSender } from "@azure/service-bus";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { countSocketFlushes } from "../../../bench/support/socketFlushes.js";
import { DEFAULT_SAS_KEY, DEFAULT_SAS_KEY_NAME, type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { startFaultProxy } from "../../support/faultProxy.js";
import { startEmulatorProcess } from "../../support/emulatorProcess.js";
import { ensureBuilt } from "../../support/hostProcesses.js";

/**
 * The SDK's AMQP writes coalesced per event-loop turn (coalesceAmqpWrites, a patch of rhea's connection
 * prototype) against the real @azure/service-bus and the local emulator: fewer socket writes, the same
 * messages in the same order, and socket faults still reaching the SDK (it fails the call or retries,
 * and reconnects) without taking the process down.
 */

const QUEUE = "audit";
const CALLERS = 16;

// Any error that escapes to the process would take a real instance down: none may, in any test here.
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => {
  escaped.push(error);
};
beforeAll(() => {
  expect(coalesceAmqpWrites()).toBe(true);
  expect(coalesceAmqpWrites()).toBe(true); // idempotent
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
});
afterAll(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});
afterEach(() => {
  expect(escaped).toEqual([]);
});

const withEmulator = (port: number): string => `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${DEFAULT_SAS_KEY_NAME};SharedAccessKey=${DEFAULT_SAS_KEY};UseDevelopmentEmulator=true`;

describe("coalesced AMQP writes with the real SDK", () => {
  let broker: RunningServiceBusEmulator;
  beforeAll(async () => {
    broker = await startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true, lockDurationInMs: 30_000 }], port: 0 });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("hands the kernel fewer writes than frames with concurrent requests, and every event arrives once, in order, completed", async () => {
    const client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, timeoutInMs: 5_000 } });
    const sender = client.createSender(QUEUE);
    const receivers = await Promise.all(Array.from({ length: CALLERS }, (_, c) => client.acceptSession(QUEUE, `coalesce-${c}`)));
    const received = new Map<string, number[]>();
    const oneRequest = async (sender: ServiceBusSender, receiver: ServiceBusSessionReceiver, index: number): Promise<void> => {
      // A request's audit traffic: two publishes on its chain, then the consumer's receive and completion.
      await sender.sendMessages({ body: index * 2, sessionId: receiver.sessionId });
      await sender.sendMessages({ body: index * 2 + 1, sessionId: receiver.sessionId });
      let got = 0;
      for (let round = 0; got < 2 && round < 20; round++) {
        const messages = await receiver.receiveMessages(2 - got, { maxWaitTimeInMs: 1_000 });
        for (const message of messages) received.get(receiver.sessionId)?.push(message.body as number);
        await Promise.all(messages.map((message) => receiver.completeMessage(message)));
        got += messages.length;
      }
    };
    try {
      for (const receiver of receivers) received.set(receiver.sessionId, []);
      const flushes = countSocketFlushes(broker.port);
      const requestsPerCaller = 15;
      try {
        await Promise.all(
          receivers.map(async (receiver) => {
            for (let i = 0; i < requestsPerCaller; i++) await oneRequest(sender, receiver, i);
          }),
        );
      } finally {
        flushes.stop();
      }
      const counted = flushes.snapshot();
      // Frame by frame (rhea's own behaviour) the client's writes equal its frames; coalesced, a turn's frames share one.
      expect(counted.clientBuffers).toBeGreaterThan(CALLERS * requestsPerCaller * 3);
      expect(counted.client).toBeLessThan(counted.clientBuffers * 0.6);
      for (const [session, bodies] of received) {
        expect(bodies, session).toEqual(Array.from({ length: requestsPerCaller * 2 }, (_, i) => i));
      }
      expect(broker.queueDepth(QUEUE)).toBe(0);
    } finally {
      await Promise.all(receivers.map((receiver) => receiver.close()));
      await sender.close();
      await client.close();
    }
  });

  it("a connection reset in the middle of concurrent sends: every publish settles (sent or rejected with an error), the process stays up, and the next publishes go through", async () => {
    const proxy = await startFaultProxy({ port: broker.port });
    const client = new ServiceBusClient(withEmulator(proxy.port), { retryOptions: { maxRetries: 2, retryDelayInMs: 100, timeoutInMs: 3_000 } });
    const publisher = new ServiceBusAuditPublisher(client.createSender(QUEUE));
    try {
      await publisher.publish([makeAuditEvent({ project: "warm" })]);
      const inFlight = Array.from({ length: CALLERS * 4 }, (_, i) => publisher.publish([makeAuditEvent({ project: `reset-${i % CALLERS}` })]));
      // Cut every connection in the same turn the sends' frames are being written.
      await proxy.setMode("refuse");
      const outcomes = await Promise.allSettled(inFlight);
      for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(Error);
      await proxy.setMode("pass");
      await publisher.publish([makeAuditEvent({ project: "after-reset" })]);
      expect(outcomes).toHaveLength(CALLERS * 4);
    } finally {
      await publisher.close();
      await client.close();
      await proxy.stop();
    }
  });
});

const emulatorProcess = (port: number): Promise<{ child: ChildProcess; port: number }> => startEmulatorProcess(port, QUEUE);

describe("the emulator process killed mid-request, with coalesced writes", () => {
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  it("in-flight publishes settle with errors, the process stays up, and publishing works again once the broker is back", async () => {
    const first = await emulatorProcess(0);
    children.push(first.child);
    const client = new ServiceBusClient(withEmulator(first.port), { retryOptions: { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 2_000 } });
    const publisher = new ServiceBusAuditPublisher(client.createSender(QUEUE));
    try {
      await publisher.publish([makeAuditEvent({ project: "warm" })]);
      const inFlight = Array.from({ length: CALLERS * 4 }, (_, i) => publisher.publish([makeAuditEvent({ project: `killed-${i % CALLERS}` })]));
      first.child.kill("SIGKILL");
      await once(first.child, "exit");
      const outcomes = await Promise.allSettled(inFlight);
      const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
      // With the broker gone and no broker to retry against, at least the sends not yet acknowledged fail.
      expect(rejected.length).toBeGreaterThan(0);
      for (const outcome of rejected) expect(outcome.reason).toBeInstanceOf(Error);

      const second = await emulatorProcess(first.port);
      children.push(second.child);
      let delivered = false;
      for (let attempt = 0; attempt < 10 && !delivered; attempt++) {
        delivered = await publisher.publish([makeAuditEvent({ project: "after-restart" })]).then(
          () => true,
          () => false,
        );
      }
      expect(delivered).toBe(true);
    } finally {
      await publisher.close();
      await client.close();
    }
  }, 60_000);
});
