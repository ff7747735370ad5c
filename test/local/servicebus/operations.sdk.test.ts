import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

/** The emulator counts the operations it served, so the bench can report round trips per request. */

let emulator: RunningServiceBusEmulator;
let client: ServiceBusClient;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ queues: [{ name: "counted" }] });
  client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
});

afterAll(async () => {
  await client?.close();
  await emulator?.stop();
});

describe("Service Bus emulator: operation counts", () => {
  it("counts sends, deliveries and settlements by kind", async () => {
    const before = emulator.operations();
    const sender = client.createSender("counted");
    await sender.sendMessages([{ body: 1 }, { body: 2 }]);
    await sender.sendMessages({ body: 3 });
    const receiver = client.createReceiver("counted");
    const received = await receiver.receiveMessages(3, { maxWaitTimeInMs: 2_000 });
    for (const message of received) await receiver.completeMessage(message);
    await receiver.close();
    await sender.close();
    const after = emulator.operations();
    const delta = (kind: string): number => (after[kind] ?? 0) - (before[kind] ?? 0);
    expect(received).toHaveLength(3);
    // Two transfers: a batch of two, then one message.
    expect(delta("send")).toBe(2);
    expect(delta("receive")).toBe(3);
    expect(delta("settle.complete")).toBe(3);
    expect(delta("cbs")).toBeGreaterThanOrEqual(1);
  });
});
