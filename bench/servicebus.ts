import { performance } from "node:perf_hooks";
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from "@azure/service-bus";
import { startServiceBusEmulator } from "../local/servicebus/index.js";

/**
 * The Service Bus emulator with the real SDK: start-up time, and messages per second for send +
 * receive + complete across 10 sessions (peekLock), end to end in one process.
 */

const SESSIONS = 10;

async function sendAll(sender: ServiceBusSender, messages: readonly ServiceBusMessage[]): Promise<void> {
  let batch = await sender.createMessageBatch();
  for (const message of messages) {
    if (!batch.tryAddMessage(message)) {
      await sender.sendMessages(batch);
      batch = await sender.createMessageBatch();
      if (!batch.tryAddMessage(message)) throw new Error("a message does not fit in an empty batch");
    }
  }
  if (batch.count > 0) await sender.sendMessages(batch);
}

async function drainSession(client: ServiceBusClient, queue: string, sessionId: string, expected: number): Promise<void> {
  const receiver = await client.acceptSession(queue, sessionId);
  try {
    let received = 0;
    let previous = Number.NEGATIVE_INFINITY;
    for (let round = 0; received < expected && round < 1_000; round++) {
      const messages = await receiver.receiveMessages(Math.min(250, expected - received), { maxWaitTimeInMs: 1_000 });
      for (const message of messages) {
        const index = message.body as number;
        if (index <= previous) throw new Error(`session ${sessionId} out of order`);
        previous = index;
      }
      await Promise.all(messages.map((message) => receiver.completeMessage(message)));
      received += messages.length;
    }
    if (received !== expected) throw new Error(`session ${sessionId}: received ${received} of ${expected}`);
  } finally {
    await receiver.close();
  }
}

/** Sends `messages` across the sessions, then receives and completes them all; returns the seconds taken. */
async function runRound(client: ServiceBusClient, sender: ServiceBusSender, queue: string, messages: number): Promise<number> {
  const payload: ServiceBusMessage[] = Array.from({ length: messages }, (_, i) => ({
    body: i,
    sessionId: `session-${i % SESSIONS}`,
    applicationProperties: { index: i },
  }));
  const begin = performance.now();
  await sendAll(sender, payload);
  await Promise.all(
    Array.from({ length: SESSIONS }, (_, s) =>
      drainSession(client, queue, `session-${s}`, payload.filter((m) => m.sessionId === `session-${s}`).length),
    ),
  );
  return (performance.now() - begin) / 1000;
}

export async function runServiceBusBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const messages = options.quick ? 1_000 : 5_000;
  const queue = "bench";
  const started = performance.now();
  const emulator = await startServiceBusEmulator({ queues: [{ name: queue, requiresSession: true }] });
  const startupMs = performance.now() - started;
  const client = new ServiceBusClient(emulator.connectionString);
  try {
    // Warm the connection, $cbs and the JIT (SDK and emulator) so the figure is the steady state.
    const sender = client.createSender(queue);
    await runRound(client, sender, queue, 500);
    const seconds = await runRound(client, sender, queue, messages);
    await sender.close();
    if (emulator.queueDepth(queue) !== 0) throw new Error(`queue not empty: ${emulator.queueDepth(queue)}`);
    return {
      startupMs: Math.round(startupMs * 10) / 10,
      messages,
      messagesPerSecond: Math.round(messages / seconds),
    };
  } finally {
    await client.close();
    await emulator.stop();
  }
}
