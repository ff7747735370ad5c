import { performance } from "node:perf_hooks";
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from "@azure/service-bus";
import { randomUUID } from "node:crypto";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { type AuditEvent } from "../src/core/audit/AuditEvent.js";
import { countSocketFlushes } from "./support/socketFlushes.js";

/**
 * The Service Bus emulator with the real SDK: start-up time, and messages per second for send +
 * receive + complete across 10 sessions (peekLock), end to end in one process; and, one request's
 * audit traffic at a time (two sends of one event, then receive and complete both on the chain's
 * session), the socket writes each side hands the kernel and the process's CPU per request; and the
 * Service Bus operations the audit publisher costs per request (two events each), at 1 and 16 callers.
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

const AUDIT_SIZED_BODY = { type: "request.outcome", detail: "x".repeat(900) };

/**
 * `requests` requests' audit traffic, `callers` at a time, each caller on a session of its own (a
 * chain): the sender's two publishes (admission, outcome), each a batch of one, then the consumer's
 * receive and completion of both. Returns the socket writes (kernel writes; server side = the
 * emulator) and the process's CPU per request (SDK and emulator together).
 */
async function runRequestShapedRound(
  client: ServiceBusClient,
  sender: ServiceBusSender,
  queue: string,
  port: number,
  requests: number,
  callers: number,
): Promise<Record<string, number>> {
  const receivers = await Promise.all(Array.from({ length: callers }, (_, c) => client.acceptSession(queue, `request-shaped-${c}`)));
  const publish = async (sessionId: string, index: number): Promise<void> => {
    const batch = await sender.createMessageBatch();
    if (!batch.tryAddMessage({ body: { ...AUDIT_SIZED_BODY, index }, sessionId, contentType: "application/json" })) {
      throw new Error("an audit-sized message does not fit in an empty batch");
    }
    await sender.sendMessages(batch);
  };
  const oneRequest = async (caller: number, index: number): Promise<void> => {
    const receiver = receivers[caller];
    if (receiver === undefined) throw new Error(`no receiver for caller ${caller}`);
    await publish(receiver.sessionId, index * 2);
    await publish(receiver.sessionId, index * 2 + 1);
    let received = 0;
    while (received < 2) {
      const messages = await receiver.receiveMessages(2 - received, { maxWaitTimeInMs: 1_000 });
      if (messages.length === 0) throw new Error("request-shaped round: a published event did not arrive");
      await Promise.all(messages.map((message) => receiver.completeMessage(message)));
      received += messages.length;
    }
  };
  const run = async (count: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        while (next < count) await oneRequest(caller, next++);
      }),
    );
  };
  const prefix = `requestShaped${callers}`;
  try {
    await run(50);
    const flushes = countSocketFlushes(port);
    const cpuBefore = process.cpuUsage();
    try {
      await run(requests);
    } finally {
      flushes.stop();
    }
    const cpu = process.cpuUsage(cpuBefore);
    const counted = flushes.snapshot();
    const per = (value: number): number => Math.round((value / requests) * 100) / 100;
    return {
      [`${prefix}.requests`]: requests,
      [`${prefix}.emulatorSocketWritesPerRequest`]: per(counted.server),
      [`${prefix}.emulatorFramesPerRequest`]: per(counted.serverBuffers),
      [`${prefix}.clientSocketWritesPerRequest`]: per(counted.client),
      [`${prefix}.clientFramesPerRequest`]: per(counted.clientBuffers),
      [`${prefix}.cpuMicrosPerRequest`]: Math.round((cpu.user + cpu.system) / requests),
    };
  } finally {
    await Promise.all(receivers.map((receiver) => receiver.close()));
  }
}

function auditEvent(type: AuditEvent["type"]): AuditEvent {
  return {
    schemaVersion: 1,
    eventId: randomUUID(),
    ts: new Date().toISOString(),
    type,
    actor: { kind: "service-account", id: "sa-bench", keyId: "k1" },
    project: "bench-project",
    model: "gpt-4o",
    status: "success",
    httpStatus: 200,
    tokens: { input: 10, output: 20 },
    costUsd: 0.001,
    policyVersion: "a".repeat(64),
  };
}

/**
 * The audit publisher as the gateway drives it: each request publishes its admission, then its
 * outcome (each awaited, as fail_closed does), `callers` requests at a time on one project's chain.
 * Returns the emulator's operations per request by kind (sends, token puts, ...).
 */
async function runPublisherRound(
  client: ServiceBusClient,
  emulator: RunningServiceBusEmulator,
  queue: string,
  requests: number,
  callers: number,
): Promise<Record<string, number>> {
  const publisher = new ServiceBusAuditPublisher(client.createSender(queue));
  try {
    await publisher.publish([auditEvent("request_admitted")]);
    const before = emulator.operations();
    let next = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next++ < requests) {
          await publisher.publish([auditEvent("request_admitted")]);
          await publisher.publish([auditEvent("api_call")]);
        }
      }),
    );
    const after = emulator.operations();
    const perRequest: Record<string, number> = {};
    for (const [kind, count] of Object.entries(after)) {
      const delta = count - (before[kind] ?? 0);
      if (delta > 0) perRequest[`publisher${callers}.${kind}PerRequest`] = Math.round((delta / requests) * 1000) / 1000;
    }
    return perRequest;
  } finally {
    await publisher.close();
  }
}

export async function runServiceBusBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const messages = options.quick ? 1_000 : 5_000;
  const queue = "bench";
  const started = performance.now();
  const emulator = await startServiceBusEmulator({
    queues: [
      { name: queue, requiresSession: true },
      { name: "bench-audit", requiresSession: true },
    ],
  });
  const startupMs = performance.now() - started;
  // As the app's clients: one socket write per turn (PALISADE_BENCH_AMQP_COALESCE=off: frame by frame, to compare).
  if (process.env.PALISADE_BENCH_AMQP_COALESCE !== "off") coalesceAmqpWrites();
  const client = new ServiceBusClient(emulator.connectionString);
  try {
    // Warm the connection, $cbs and the JIT (SDK and emulator) so the figure is the steady state.
    const sender = client.createSender(queue);
    await runRound(client, sender, queue, 500);
    const seconds = await runRound(client, sender, queue, messages);
    const requests = options.quick ? 300 : 1_000;
    const oneCaller = await runRequestShapedRound(client, sender, queue, emulator.port, requests, 1);
    const sixteenCallers = await runRequestShapedRound(client, sender, queue, emulator.port, requests * 2, 16);
    await sender.close();
    const publisherQueue = "bench-audit";
    const publisherOne = await runPublisherRound(client, emulator, publisherQueue, requests, 1);
    const publisherSixteen = await runPublisherRound(client, emulator, publisherQueue, requests * 2, 16);
    if (emulator.queueDepth(queue) !== 0) throw new Error(`queue not empty: ${emulator.queueDepth(queue)}`);
    return {
      startupMs: Math.round(startupMs * 10) / 10,
      messages,
      messagesPerSecond: Math.round(messages / seconds),
      ...oneCaller,
      ...sixteenCallers,
      ...publisherOne,
      ...publisherSixteen,
    };
  } finally {
    await client.close();
    await emulator.stop();
  }
}
