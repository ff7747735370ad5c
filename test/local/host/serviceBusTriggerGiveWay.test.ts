import { describe, expect, it } from "vitest";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { sessionBatchFunction, useSessionQueueEmulator } from "./sessionQueueEmulator.js";

const QUEUE = "give-way";
const emulator = useSessionQueueEmulator(QUEUE, { maxRetries: 0, timeoutInMs: 2_000 });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("the local host's Service Bus trigger gives way to HTTP requests with a short batch", () => {
  it("waits on beforeShortBatchTurn before a short batch's append and again before its settlement, and loses nothing", async () => {
    const steps: string[] = [];
    let gateOpen = false;
    const waiting: (() => void)[] = [];
    // Stands for RequestsInFlight.idle: shut while a request is in flight.
    const gate = (): Promise<void> => {
      steps.push("gate");
      return gateOpen ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve));
    };
    const sender = emulator.sdk.createSender(QUEUE);
    await sender.sendMessages(Array.from({ length: 3 }, (_, i) => ({ sessionId: "lone", messageId: `m${i}`, body: { i }, contentType: "application/json" })));
    await sender.close();
    const appended: unknown[] = [];
    const trigger: RunningTrigger = startServiceBusTrigger({
      name: "giveWay",
      options: sessionBatchFunction(QUEUE, async (messages: unknown) => {
        steps.push("append");
        appended.push(...(messages as unknown[]));
      }),
      queueName: QUEUE,
      client: emulator.sdk,
      maxMessagesPerBatch: 100,
      minMessagesPerBatch: 100,
      maxBatchWaitTimeInMs: 50,
      maxConcurrentSessions: 1,
      sessionIdleTimeoutInMs: 1_000,
      log: () => undefined,
      beforeShortBatchTurn: gate,
    });
    try {
      for (let wait = 0; wait < 50 && steps.length === 0; wait++) await sleep(50);
      await sleep(100);
      // The request "in flight" holds the batch: nothing appended yet.
      expect(steps).toEqual(["gate"]);
      expect(appended).toEqual([]);
      gateOpen = true;
      for (const open of waiting.splice(0)) open();
      for (let wait = 0; wait < 50 && steps.length < 3; wait++) await sleep(50);
      expect(steps).toEqual(["gate", "append", "gate"]);
      expect(appended).toHaveLength(3);
    } finally {
      await trigger.stop();
    }
    // All three were settled: nothing comes back.
    const receiver = await emulator.sdk.acceptSession(QUEUE, "lone");
    expect(await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 })).toEqual([]);
    await receiver.close();
  });
});
