import { ServiceBusClient } from "@azure/service-bus";
import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalHost } from "../../../local/host/index.js";
import { type RunningTrigger, startServiceBusTrigger } from "../../../local/host/serviceBusTrigger.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";
import { type FunctionDefinition } from "../../../src/functions/definition.js";
import { sessionBatchFunction } from "./sessionQueueEmulator.js";

const QUEUE = "idle";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutInMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await sleep(10);
  }
}

/**
 * A TCP relay between the SDK and the emulator: counts what the client writes (each AMQP frame the
 * trigger sends: credit, drain, attach, settle...) and can cut every connection, as a broker that dies.
 */
interface Relay {
  readonly port: number;
  clientBytes: number;
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startRelay(upstreamPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      relay.clientBytes += chunk.length;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const relay: Relay = {
    port: (server.address() as AddressInfo).port,
    clientBytes: 0,
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return relay;
}

let broker: RunningServiceBusEmulator | undefined;
let relay: Relay | undefined;
let sender: ServiceBusClient | undefined;
beforeAll(async () => {
  broker = await startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true, lockDurationInMs: 30_000 }], port: 0 });
  relay = await startRelay(broker.port);
  sender = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
});
afterAll(async () => {
  await sender?.close();
  await relay?.close();
  await broker?.stop();
});

const ready = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error("used before the emulator started");
  return value;
};

async function publish(session: string, id: string): Promise<void> {
  const client = ready(sender).createSender(QUEUE);
  await client.sendMessages({ sessionId: session, messageId: id, body: { id }, contentType: "application/json" });
  await client.close();
}

interface Consumer {
  readonly trigger: RunningTrigger;
  readonly client: ServiceBusClient;
  /** Ids of the batches the function finished without throwing, in the order it finished them. */
  readonly handled: string[];
  /** The size of each invocation's batch. */
  readonly batches: number[];
  /** When each id was first handed to the function (ms since the epoch). */
  readonly firstSeenAt: Map<string, number>;
  stop(): Promise<void>;
}

/** The trigger as the local host runs it (its own client, through the relay), with a handler that records what it gets. */
function consume(options: { sessionIdleTimeoutInMs: number; minMessagesPerBatch?: number; maxBatchWaitTimeInMs?: number; handle?: (ids: string[]) => Promise<void> }): Consumer {
  const connectionString = ready(broker).connectionString.replace(`:${ready(broker).port};`, `:${ready(relay).port};`);
  const client = new ServiceBusClient(connectionString, { retryOptions: { maxRetries: 3, timeoutInMs: 60_000 } });
  const handled: string[] = [];
  const batches: number[] = [];
  const firstSeenAt = new Map<string, number>();
  const trigger = startServiceBusTrigger({
    name: "idle",
    options: sessionBatchFunction(QUEUE, async (messages: unknown) => {
      const ids = (messages as { id: string }[]).map((message) => message.id);
      batches.push(ids.length);
      for (const id of ids) if (!firstSeenAt.has(id)) firstSeenAt.set(id, Date.now());
      await options.handle?.(ids);
      handled.push(...ids);
    }),
    queueName: QUEUE,
    client,
    maxMessagesPerBatch: 100,
    maxConcurrentSessions: 4,
    sessionIdleTimeoutInMs: options.sessionIdleTimeoutInMs,
    ...(options.minMessagesPerBatch === undefined ? {} : { minMessagesPerBatch: options.minMessagesPerBatch }),
    ...(options.maxBatchWaitTimeInMs === undefined ? {} : { maxBatchWaitTimeInMs: options.maxBatchWaitTimeInMs }),
    log: () => undefined,
  });
  return {
    trigger,
    client,
    handled,
    batches,
    firstSeenAt,
    async stop() {
      await trigger.stop();
      await client.close();
    },
  };
}

describe("the local host's Service Bus trigger at rest", () => {
  it("holds an idle session without a round trip, and hands its next message over at once", async () => {
    const consumer = consume({ sessionIdleTimeoutInMs: 30_000 });
    try {
      await publish("held", "h1");
      await until(() => consumer.handled.includes("h1"));
      await sleep(300); // the completion's frames
      const bytesBefore = ready(relay).clientBytes;
      await sleep(1_500);
      // A receive loop with short waits sent a credit and a drain every wait (5 per 1.5 s at 300 ms).
      expect(ready(relay).clientBytes - bytesBefore).toBe(0);
      const sentAt = Date.now();
      await publish("held", "h2");
      await until(() => consumer.handled.includes("h2"), 5_000);
      // Handed over when it arrives (the old loop held it until its 300 ms wait ended); generous for a loaded machine.
      expect((consumer.firstSeenAt.get("h2") ?? Number.POSITIVE_INFINITY) - sentAt).toBeLessThan(1_000);
    } finally {
      await consumer.stop();
    }
  });

  it("waits for a session at the broker for host.json's try timeout: an idle host accepts nothing new, yet picks up a new session's message promptly", async () => {
    const handled: string[] = [];
    const firstSeenAt = new Map<string, number>();
    const definitions: FunctionDefinition[] = [
      {
        kind: "serviceBusQueue",
        name: "consume",
        options: {
          connection: "IDLE_TEST_SERVICEBUS",
          queueName: QUEUE,
          isSessionsEnabled: true,
          cardinality: "many",
          handler: async (messages: unknown) => {
            for (const { id } of messages as { id: string }[]) {
              firstSeenAt.set(id, Date.now());
              handled.push(id);
            }
          },
        },
      },
    ];
    const tallyBefore = ready(broker).operations().cbs ?? 0;
    // The app's host.json (a one-minute try timeout), as `palisade host` runs.
    const host = await startLocalHost({ definitions, environment: { IDLE_TEST_SERVICEBUS: ready(broker).connectionString }, runServiceBusTriggers: true, serviceBusTriggersDelayInMs: 0, log: () => undefined });
    try {
      await sleep(4_000);
      // One accept waiting (one link, one token); a 3 s operation timeout re-accepted at least once by now.
      expect((ready(broker).operations().cbs ?? 0) - tallyBefore).toBeLessThanOrEqual(1);
      const sentAt = Date.now();
      await publish("fresh", "f1");
      await until(() => handled.includes("f1"), 5_000);
      expect((firstSeenAt.get("f1") ?? Number.POSITIVE_INFINITY) - sentAt).toBeLessThan(1_000);
    } finally {
      await host.stop();
    }
  });

  it("with a minimum batch size, waits up to the batch wait for more messages, and hands a full batch over at once", async () => {
    const consumer = consume({ sessionIdleTimeoutInMs: 30_000, minMessagesPerBatch: 5, maxBatchWaitTimeInMs: 600 });
    try {
      const client = ready(sender).createSender(QUEUE);
      const sentAt = Date.now();
      await client.sendMessages(["p1", "p2", "p3"].map((id) => ({ sessionId: "min", messageId: id, body: { id }, contentType: "application/json" })));
      await until(() => consumer.handled.includes("p3"));
      // Three of five: they waited for more, then went together as a partial batch.
      expect(consumer.batches).toEqual([3]);
      expect((consumer.firstSeenAt.get("p1") ?? 0) - sentAt).toBeGreaterThanOrEqual(500);
      const fullSentAt = Date.now();
      await client.sendMessages(["q1", "q2", "q3", "q4", "q5"].map((id) => ({ sessionId: "min", messageId: id, body: { id }, contentType: "application/json" })));
      await client.close();
      await until(() => consumer.handled.includes("q5"));
      expect(consumer.batches).toEqual([3, 5]);
      expect((consumer.firstSeenAt.get("q1") ?? Number.POSITIVE_INFINITY) - fullSentAt).toBeLessThan(500);
    } finally {
      await consumer.stop();
    }
  });

  it("lets a session go after its idle timeout and takes it again when it comes back, in order", async () => {
    const consumer = consume({ sessionIdleTimeoutInMs: 400 });
    try {
      await publish("back", "b1");
      await until(() => consumer.handled.includes("b1"));
      await sleep(1_200);
      // Let go: another receiver can lock it now.
      const other = await ready(sender).acceptSession(QUEUE, "back");
      await other.close();
      await publish("back", "b2");
      await publish("back", "b3");
      await until(() => consumer.handled.includes("b3"));
      expect(consumer.handled).toEqual(["b1", "b2", "b3"]);
    } finally {
      await consumer.stop();
    }
  });

  it("after a failed batch, hands over the messages delivered behind it only after it, in the session's order", async () => {
    let failures = 0;
    const consumer = consume({
      sessionIdleTimeoutInMs: 5_000,
      handle: async (ids) => {
        if (ids[0] === "o1" && failures === 0) {
          failures += 1;
          // o2 and o3 arrive while this batch runs, then it fails.
          await sleep(400);
          throw new Error("transient");
        }
      },
    });
    try {
      await publish("order", "o1");
      await until(() => failures === 1);
      await publish("order", "o2");
      await publish("order", "o3");
      await until(() => consumer.handled.includes("o3") && consumer.handled.includes("o1"));
      expect(consumer.handled).toEqual(["o1", "o2", "o3"]);
    } finally {
      await consumer.stop();
    }
  });

  it("a stop during an invocation waits for it and its completions: nothing appended is left to redeliver", async () => {
    let started = false;
    const consumer = consume({
      sessionIdleTimeoutInMs: 30_000,
      handle: async () => {
        started = true;
        await sleep(300);
      },
    });
    await publish("stopping", "s1");
    await until(() => started);
    await consumer.trigger.stop();
    expect(consumer.handled).toEqual(["s1"]);
    await consumer.client.close();
    const receiver = await ready(sender).acceptSession(QUEUE, "stopping");
    expect(await receiver.receiveMessages(10, { maxWaitTimeInMs: 300 })).toEqual([]);
    await receiver.close();
  });

  it("survives its connection being cut while it holds a session and while it waits for one, and consumes again once the broker is back", async () => {
    const consumer = consume({ sessionIdleTimeoutInMs: 5_000 });
    try {
      await publish("cut", "c1");
      await until(() => consumer.handled.includes("c1"));
      ready(relay).cut(); // while the session is held (subscribed) and another loop waits to accept
      await sleep(1_500);
      ready(relay).restore();
      await publish("cut", "c2");
      await publish("other", "x1");
      await until(() => consumer.handled.includes("c2") && consumer.handled.includes("x1"), 20_000);
      expect(consumer.handled.filter((id) => id === "c2")).toHaveLength(1);
    } finally {
      ready(relay).restore();
      await consumer.stop();
    }
  });
});
