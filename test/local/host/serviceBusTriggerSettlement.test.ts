import { type ServiceBusReceivedMessage, type ServiceBusReceiver } from "@azure/service-bus";
import { describe, expect, it } from "vitest";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { sessionBatchFunction, useSessionQueueEmulator } from "./sessionQueueEmulator.js";

const QUEUE = "settle";
const emulator = useSessionQueueEmulator(QUEUE, { maxRetries: 0, timeoutInMs: 2_000 });

/** One batch as the trigger settled it: for each completion started, whether the event loop had turned since the handler returned. */
interface SettledBatch {
  readonly size: number;
  readonly loopTurnedAt: boolean[];
}

describe("the local host's Service Bus trigger settles a batch without holding the event loop", () => {
  it("completes each message once (one disposition each), started in slices of 25 with a turn of the event loop between them", async () => {
    const batches: SettledBatch[] = [];
    const completed: string[] = [];
    let current: { size: number; loopTurnedAt: boolean[]; turned: boolean } | undefined;
    const watchReceiver = (receiver: ServiceBusReceiver): ServiceBusReceiver =>
      new Proxy(receiver, {
        get(target, property, proxy) {
          if (property !== "completeMessage") return Reflect.get(target, property, proxy) as unknown;
          return (message: ServiceBusReceivedMessage) => {
            current?.loopTurnedAt.push(current.turned);
            completed.push(String(message.messageId));
            return target.completeMessage(message);
          };
        },
      });
    const client = new Proxy(emulator.sdk, {
      get(target, property, proxy) {
        if (property !== "acceptNextSession") return Reflect.get(target, property, proxy) as unknown;
        return async (queue: string, options: object) => watchReceiver(await target.acceptNextSession(queue, options));
      },
    });
    const sender = emulator.sdk.createSender(QUEUE);
    await sender.sendMessages(Array.from({ length: 100 }, (_, i) => ({ sessionId: "one", messageId: `m${i}`, body: { i }, contentType: "application/json" })));
    await sender.close();
    const trigger: RunningTrigger = startServiceBusTrigger({
      name: "settle",
      options: sessionBatchFunction(QUEUE, async (messages: unknown) => {
        const batch = { size: (messages as unknown[]).length, loopTurnedAt: [], turned: false };
        current = batch;
        batches.push(batch);
        // Stands for an HTTP request that arrived while the batch was being appended.
        setImmediate(() => (batch.turned = true));
      }),
      queueName: QUEUE,
      client,
      maxMessagesPerBatch: 100,
      maxConcurrentSessions: 1,
      sessionIdleTimeoutInMs: 1_000,
      log: () => undefined,
    });
    try {
      for (let wait = 0; wait < 100 && completed.length < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(completed.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`).sort());
      const big = batches.find((batch) => batch.size > 25);
      expect(big, `batch sizes ${batches.map((b) => b.size).join(",")}`).toBeDefined();
      // The first 25 completions start in the handler's turn, the 26th only after the loop turned.
      expect(big?.loopTurnedAt.slice(0, 25)).toEqual(Array.from({ length: 25 }, () => false));
      expect(big?.loopTurnedAt[25]).toBe(true);
    } finally {
      await trigger.stop();
    }
    // Nothing is left for a redelivery: once the trigger let the session go, it is empty.
    const receiver = await emulator.sdk.acceptSession(QUEUE, "one");
    expect(await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 })).toEqual([]);
    await receiver.close();
  });
});
