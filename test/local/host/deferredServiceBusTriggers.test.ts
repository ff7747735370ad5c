import { afterAll, describe, expect, it } from "vitest";
import { type RunningLocalHost, startLocalHost } from "../../../local/host/index.js";
import { type FunctionDefinition } from "../../../src/functions/definition.js";
import { useSessionQueueEmulator } from "./sessionQueueEmulator.js";

const QUEUE = "deferred-trigger";
const emulator = useSessionQueueEmulator(QUEUE, { maxRetries: 1, timeoutInMs: 5_000 });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutInMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await sleep(50);
  }
}

/** An HTTP route and a session-enabled queue trigger that records what it receives. */
function definitions(received: unknown[]): FunctionDefinition[] {
  return [
    { kind: "http", name: "ping", options: { route: "ping", methods: ["GET"], authLevel: "anonymous", handler: async () => ({ status: 200, body: "pong" }) } },
    {
      kind: "serviceBusQueue",
      name: "consume",
      options: {
        connection: "DEFERRED_TEST_SERVICEBUS",
        queueName: QUEUE,
        isSessionsEnabled: true,
        cardinality: "many",
        handler: async (messages: unknown) => {
          received.push(...(messages as unknown[]));
        },
      },
    },
  ];
}

async function publish(id: string): Promise<void> {
  const sender = emulator.sdk.createSender(QUEUE);
  await sender.sendMessages({ messageId: id, sessionId: "chain-a", body: { id }, contentType: "application/json" });
  await sender.close();
}

describe("the local host's Service Bus triggers start after the first answer", () => {
  let host: RunningLocalHost | undefined;

  it("keeps its receivers off a cold instance's first request: nothing is consumed until a request has been answered", async () => {
    const received: unknown[] = [];
    await publish("before-start");
    host = await startLocalHost({
      definitions: definitions(received),
      environment: { DEFERRED_TEST_SERVICEBUS: emulator.broker.connectionString },
      runServiceBusTriggers: true,
      serviceBusTriggersDelayInMs: 60_000,
      log: () => undefined,
    });
    await sleep(1_500);
    expect(received).toEqual([]);
    expect(emulator.broker.queueDepth(QUEUE)).toBe(1);

    const response = await fetch(`${host.url}/ping`);
    expect(response.status).toBe(200);
    await until(() => received.length === 1);
    expect(received).toEqual([{ id: "before-start" }]);
    await host.stop();
    host = undefined;
  });

  it("starts them after the delay when no request comes", async () => {
    const received: unknown[] = [];
    await publish("no-request");
    host = await startLocalHost({
      definitions: definitions(received),
      environment: { DEFERRED_TEST_SERVICEBUS: emulator.broker.connectionString },
      runServiceBusTriggers: true,
      serviceBusTriggersDelayInMs: 300,
      log: () => undefined,
    });
    await until(() => received.length === 1);
    expect(received).toEqual([{ id: "no-request" }]);
    await host.stop();
    host = undefined;
  });

  it("still refuses to start, before listening, when a trigger's connection setting is missing", async () => {
    await expect(startLocalHost({ definitions: definitions([]), environment: {}, runServiceBusTriggers: true, log: () => undefined })).rejects.toThrow(/DEFERRED_TEST_SERVICEBUS/);
  });

  afterAll(async () => {
    await host?.stop();
  });
});
