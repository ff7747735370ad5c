import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ServiceBusClient, type ServiceBusSessionReceiver } from "@azure/service-bus";
import { DEFAULT_SAS_KEY, DEFAULT_SAS_KEY_NAME } from "../../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { countSocketFlushes } from "./socketFlushes.js";

/**
 * The instance's own Service Bus work, alone in this process, with the emulator in another process
 * (its CPU is not counted): `callers` requests at a time, each on a chain of its own, publish their two
 * audit events with the app's ServiceBusAuditPublisher (awaited one after the other, as fail_closed
 * does), then a session receiver per chain receives and completes them (the audit trigger's part).
 * Prints this process's CPU per request, the main thread's own CPU per request (schedstat: preemption
 * by other processes does not count), the socket writes and frames it handed the kernel, and one
 * request's time (both publishes, receive and complete) at p50 and p99.
 * `node dist/bench/support/amqpClientCost.js on|off [requests] [callers]`: `off` leaves rhea writing
 * frame by frame (coalesceAmqpWrites not installed); run both, alternated, to compare.
 */

const QUEUE = "audit";
const SCHEDSTAT = "/proc/thread-self/schedstat";
const mainThreadMicros = (): number => (existsSync(SCHEDSTAT) ? Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[0]) / 1e3 : 0);

async function emulatorProcess(): Promise<{ port: number; stop: () => void }> {
  const module = fileURLToPath(new URL("../../local/servicebus/index.js", import.meta.url));
  const script = [
    "const { startServiceBusEmulator } = await import(process.argv[1]);",
    `const emulator = await startServiceBusEmulator({ queues: [{ name: ${JSON.stringify(QUEUE)}, requiresSession: true, lockDurationInMs: 30000 }] });`,
    "console.log(JSON.stringify({ port: emulator.port }));",
    "process.on('disconnect', () => process.exit(0));",
    "setInterval(() => undefined, 1 << 30);",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, module], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return { port: (JSON.parse(line) as { port: number }).port, stop: () => child.kill("SIGKILL") };
}

/** The q-quantile of `values` (nearest rank), in ms to 0.1. */
function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return Math.round(value * 10) / 10;
}

export async function measureAmqpClientCost(options: { coalesce: boolean; requests: number; callers: number }): Promise<Record<string, number>> {
  if (options.coalesce && !coalesceAmqpWrites()) throw new Error("coalesceAmqpWrites could not be installed");
  const emulator = await emulatorProcess();
  const client = new ServiceBusClient(`Endpoint=sb://127.0.0.1:${emulator.port};SharedAccessKeyName=${DEFAULT_SAS_KEY_NAME};SharedAccessKey=${DEFAULT_SAS_KEY};UseDevelopmentEmulator=true`);
  const publisher = new ServiceBusAuditPublisher(client.createSender(QUEUE));
  const receivers: ServiceBusSessionReceiver[] = [];
  try {
    for (let c = 0; c < options.callers; c++) receivers.push(await client.acceptSession(QUEUE, `cost-${c}`));
    const latencies: number[] = [];
    const oneRequest = async (receiver: ServiceBusSessionReceiver, index: number): Promise<void> => {
      const began = performance.now();
      await publisher.publish([{ ...benchAuditEvent(receiver.sessionId, index * 2), type: "request_admitted" }]);
      await publisher.publish([benchAuditEvent(receiver.sessionId, index * 2 + 1)]);
      let received = 0;
      for (let round = 0; received < 2 && round < 20; round++) {
        const messages = await receiver.receiveMessages(2 - received, { maxWaitTimeInMs: 1_000 });
        await Promise.all(messages.map((message) => receiver.completeMessage(message)));
        received += messages.length;
      }
      if (received < 2) throw new Error("a published event did not arrive");
      latencies.push(performance.now() - began);
    };
    const run = async (count: number): Promise<void> => {
      let next = 0;
      await Promise.all(receivers.map(async (receiver) => {
        while (next < count) await oneRequest(receiver, next++);
      }));
    };
    await run(Math.min(200, options.requests)); // warm: links, tokens, JIT
    latencies.length = 0;
    const flushes = countSocketFlushes(emulator.port);
    const cpu = process.cpuUsage();
    const main = mainThreadMicros();
    try {
      await run(options.requests);
    } finally {
      flushes.stop();
    }
    const used = process.cpuUsage(cpu);
    const mainUsed = mainThreadMicros() - main;
    const counted = flushes.snapshot();
    const per = (value: number): number => Math.round((value / options.requests) * 100) / 100;
    return {
      coalesce: options.coalesce ? 1 : 0,
      requests: options.requests,
      callers: options.callers,
      cpuMicrosPerRequest: Math.round((used.user + used.system) / options.requests),
      mainThreadMicrosPerRequest: Math.round(mainUsed / options.requests),
      requestP50Ms: percentile(latencies, 0.5),
      requestP99Ms: percentile(latencies, 0.99),
      socketWritesPerRequest: per(counted.client),
      framesPerRequest: per(counted.clientBuffers),
      loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    };
  } finally {
    await Promise.allSettled(receivers.map((receiver) => receiver.close()));
    await publisher.close().catch(() => undefined);
    await client.close().catch(() => undefined);
    emulator.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode = "on", requests = "2000", callers = "16"] = process.argv.slice(2);
  const result = await measureAmqpClientCost({ coalesce: mode !== "off", requests: Number(requests), callers: Number(callers) });
  console.log(JSON.stringify(result));
}
