import { type ServiceBusReceiver, type ServiceBusClient } from "@azure/service-bus";
import { describe, expect, it } from "vitest";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { sessionBatchFunction, useSessionQueueEmulator } from "./sessionQueueEmulator.js";

const QUEUE = "sessions";
// A short operation timeout, as the local host's, so that idle accepts time out during the test.
const emulator = useSessionQueueEmulator(QUEUE, { maxRetries: 0, timeoutInMs: 700 });

/** What the trigger asked of the SDK: accepts in flight at once, and the abort signal of every call. */
interface Watched {
  client: ServiceBusClient;
  maxAcceptsAtOnce: number;
  accepts: number;
  signals: AbortSignal[];
}

/** The real client and its receivers, with the trigger's accept and receive calls watched. */
function watched(client: ServiceBusClient): Watched {
  const seen: Watched = { client, maxAcceptsAtOnce: 0, accepts: 0, signals: [] };
  let acceptsInFlight = 0;
  const watchReceiver = (receiver: ServiceBusReceiver): ServiceBusReceiver =>
    new Proxy(receiver, {
      get(target, property, proxy) {
        if (property !== "receiveMessages") return Reflect.get(target, property, proxy) as unknown;
        return (count: number, options: { abortSignal?: AbortSignal; maxWaitTimeInMs?: number } = {}) => {
          if (options.abortSignal) seen.signals.push(options.abortSignal);
          return target.receiveMessages(count, options);
        };
      },
    });
  seen.client = new Proxy(client, {
    get(target, property, proxy) {
      if (property !== "acceptNextSession") return Reflect.get(target, property, proxy) as unknown;
      return async (queue: string, options: { abortSignal?: AbortSignal } = {}) => {
        seen.accepts += 1;
        if (options.abortSignal) seen.signals.push(options.abortSignal);
        acceptsInFlight += 1;
        seen.maxAcceptsAtOnce = Math.max(seen.maxAcceptsAtOnce, acceptsInFlight);
        try {
          return watchReceiver(await target.acceptNextSession(queue, options));
        } finally {
          acceptsInFlight -= 1;
        }
      };
    },
  });
  return seen;
}

describe("the local host's Service Bus trigger with sessions", () => {
  it("keeps one accept waiting at a time (not one per idle loop), still serves several sessions at once, and gives every SDK call its own abort signal", async () => {
    const watch = watched(emulator.sdk);
    const received: string[] = [];
    let handling = 0;
    let maxHandlingAtOnce = 0;
    const trigger: RunningTrigger = startServiceBusTrigger({
      name: "sessions",
      options: sessionBatchFunction(QUEUE, async (messages: unknown) => {
        handling += 1;
        maxHandlingAtOnce = Math.max(maxHandlingAtOnce, handling);
        for (const body of messages as { id: string }[]) received.push(body.id);
        // Slow enough that a second session must be taken by another loop while this one works.
        await new Promise((resolve) => setTimeout(resolve, 200));
        handling -= 1;
      }),
      queueName: QUEUE,
      client: watch.client,
      maxConcurrentSessions: 8,
      sessionIdleTimeoutInMs: 5_000,
      log: () => undefined,
    });
    try {
      const sender = emulator.sdk.createSender(QUEUE);
      // Idle first: the loops' accepts time out (700 ms) and are made again.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const acceptsWhileIdle = watch.accepts;
      for (let round = 0; round < 4; round++) {
        await sender.sendMessages(["a", "b", "c"].map((session) => ({ sessionId: session, body: { id: `${session}${round}` }, contentType: "application/json" })));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await sender.close();
      for (let wait = 0; wait < 100 && received.length < 12; wait++) await new Promise((resolve) => setTimeout(resolve, 100));

      expect(received.sort()).toEqual(["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "c0", "c1", "c2", "c3"]);
      expect(maxHandlingAtOnce).toBeGreaterThan(1);
      expect(watch.maxAcceptsAtOnce).toBe(1);
      // 8 loops accepting at once would have made at least 8 accepts in 2 s of idle.
      expect(acceptsWhileIdle).toBeLessThan(8);
      // The SDK leaves listeners on the signals it is given: none may be shared between calls.
      expect(watch.signals.length).toBeGreaterThan(4);
      expect(new Set(watch.signals).size).toBe(watch.signals.length);
    } finally {
      await trigger.stop();
    }
  });
});
