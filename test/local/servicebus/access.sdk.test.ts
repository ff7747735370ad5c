import { connect } from "node:net";
import { once } from "node:events";
import { ServiceBusClient } from "@azure/service-bus";
import rhea from "rhea";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

/** What the emulator refuses: a wrong key, an unknown entity; and that stop() lets go of the port. */

let emulator: RunningServiceBusEmulator;
const clients: ServiceBusClient[] = [];

function clientFor(connectionString: string): ServiceBusClient {
  const client = new ServiceBusClient(connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ queues: [{ name: "known" }], sasKeyName: "tester", sasKey: "right-key" });
});

afterAll(async () => {
  for (const client of clients) await client.close();
  await emulator?.stop();
});

describe("Service Bus emulator: access", () => {
  it("gives a connection string for the development emulator with the configured key", () => {
    expect(emulator.connectionString).toBe(
      `Endpoint=sb://127.0.0.1:${emulator.port};SharedAccessKeyName=tester;SharedAccessKey=right-key;UseDevelopmentEmulator=true`,
    );
  });

  it("works with the right key", async () => {
    const sender = clientFor(emulator.connectionString).createSender("known");
    await sender.sendMessages({ body: "ok" });
    await sender.close();
    expect(emulator.queueDepth("known")).toBe(1);
  });

  it("refuses a token signed with the wrong key (401 on $cbs)", async () => {
    const wrong = emulator.connectionString.replace("SharedAccessKey=right-key", "SharedAccessKey=wrong-key");
    const sender = clientFor(wrong).createSender("known");
    await expect(sender.sendMessages({ body: "no" })).rejects.toMatchObject({ code: "UnauthorizedAccess" });
    expect(emulator.queueDepth("known")).toBe(1);
  });

  it("refuses a token for an unknown key name", async () => {
    const wrong = emulator.connectionString.replace("SharedAccessKeyName=tester", "SharedAccessKeyName=someone");
    const sender = clientFor(wrong).createSender("known");
    await expect(sender.sendMessages({ body: "no" })).rejects.toMatchObject({ code: "UnauthorizedAccess" });
  });

  it("refuses an unknown queue with amqp:not-found, to senders and receivers", async () => {
    const client = clientFor(emulator.connectionString);
    const sender = client.createSender("unknown");
    await expect(sender.sendMessages({ body: "lost" })).rejects.toMatchObject({ code: "MessagingEntityNotFound" });
    const receiver = client.createReceiver("unknown");
    await expect(receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).rejects.toMatchObject({
      code: "MessagingEntityNotFound",
    });
    expect(() => emulator.queueDepth("unknown")).toThrow(/No queue/);
  });

  it("keeps serving when a client resets its connection while a refused attach's detach is held back", async () => {
    const escaped: unknown[] = [];
    const onEscape = (error: unknown): void => void escaped.push(error);
    process.on("uncaughtException", onEscape);
    process.on("unhandledRejection", onEscape);
    try {
      const container = rhea.create_container();
      container.on("error", () => undefined);
      const connection = container.connect({ host: "127.0.0.1", port: emulator.port, reconnect: false });
      connection.on("connection_error", () => undefined);
      connection.on("receiver_error", () => undefined);
      const receiver = connection.open_receiver("unknown");
      // The refused attach arrives (the detach is held ~20 ms behind it): reset the connection at once.
      await once(receiver, "receiver_open");
      (connection as unknown as { socket: { resetAndDestroy(): void } }).socket.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 60));
      const sender = clientFor(emulator.connectionString).createSender("known");
      await sender.sendMessages({ body: "after the reset" });
      await sender.close();
      expect(escaped).toEqual([]);
    } finally {
      process.off("uncaughtException", onEscape);
      process.off("unhandledRejection", onEscape);
    }
  });

  it("stop() closes the port and open connections, and can be called twice", async () => {
    const own = await startServiceBusEmulator({ queues: [{ name: "q" }] });
    const client = clientFor(own.connectionString);
    const sender = client.createSender("q");
    await sender.sendMessages({ body: 1 });
    await sender.close();
    // A connection that never speaks AMQP must be closed by stop() too.
    const idle = connect({ host: "127.0.0.1", port: own.port });
    await new Promise<void>((resolve) => idle.once("connect", () => resolve()));
    const idleClosed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
    idle.on("error", () => undefined);
    await own.stop();
    await own.stop();
    await idleClosed;
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: own.port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
