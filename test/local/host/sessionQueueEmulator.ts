import { type ServiceBusQueueFunctionOptions, type ServiceBusQueueHandler } from "@azure/functions";
import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll } from "vitest";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../../local/servicebus/index.js";

export interface SessionQueueEmulator {
  readonly broker: RunningServiceBusEmulator;
  readonly sdk: ServiceBusClient;
}

/**
 * A Service Bus emulator with one session queue (30 s locks, as the audit queue) and an SDK client on it,
 * started before the file's tests and stopped after; read its fields inside the tests.
 */
export function useSessionQueueEmulator(queue: string, retryOptions: { readonly maxRetries: number; readonly timeoutInMs: number }): SessionQueueEmulator {
  let broker: RunningServiceBusEmulator | undefined;
  let sdk: ServiceBusClient | undefined;
  beforeAll(async () => {
    broker = await startServiceBusEmulator({ queues: [{ name: queue, requiresSession: true, lockDurationInMs: 30_000 }], port: 0 });
    sdk = new ServiceBusClient(broker.connectionString, { retryOptions });
  });
  afterAll(async () => {
    await sdk?.close();
    await broker?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the Service Bus emulator is used before it started");
    return value;
  };
  return {
    get broker() {
      return started(broker);
    },
    get sdk() {
      return started(sdk);
    },
  };
}

/** A function on the session queue with the audit consumer's trigger settings (batches, sessions, auto-complete) and the test's handler. */
export function sessionBatchFunction(queueName: string, handler: ServiceBusQueueHandler): ServiceBusQueueFunctionOptions {
  return { connection: "ServiceBus", queueName, isSessionsEnabled: true, cardinality: "many", autoCompleteMessages: true, handler };
}
