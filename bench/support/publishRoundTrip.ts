import { fork } from "node:child_process";
import { once } from "node:events";
import { type Socket } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { ServiceBusClient } from "@azure/service-bus";
import { DEFAULT_SAS_KEY, DEFAULT_SAS_KEY_NAME, startServiceBusEmulator } from "../../local/servicebus/index.js";
import { coalesceAmqpWrites } from "../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { type WireStamp, recordWireStamps } from "./wireStamps.js";

/**
 * One caller's audit publish, cut into its legs (issue 22: a publish cost 2.1-2.3 ms at one caller on
 * localhost). The emulator runs in a child process, as in the deployed bench's stack; this process
 * publishes one event at a time with the app's ServiceBusAuditPublisher (what fail_closed awaits) and
 * both processes stamp their socket reads and writes on the machine's monotonic clock, so each publish
 * splits into: the client until its transfer reaches the kernel (event, JSON, the SDK's encoding and
 * sender), the kernel and the emulator's wake-up until the emulator reads it, the emulator until its
 * disposition reaches the kernel, back to the client's read, and the client from that read until
 * `publish` resolves. p50 and p90 of each leg, µs.
 *
 * `node dist/bench/support/publishRoundTrip.js [publishes=2000] [nodelay=default|on|off] [callers=1]`:
 * `on`/`off` force Nagle's algorithm off/on at both ends (setNoDelay), `default` leaves the code's own
 * choice. With several callers (each on a chain of its own) only the totals: p50/p90/p99/max and the
 * publishes that took 10 ms or 40 ms (Linux's delayed ACK) or more.
 */

type NoDelay = "default" | "on" | "off";
const QUEUE = "audit";

interface ChildReady {
  readonly port: number;
}

/** Serialisable stamps (bigint does not cross IPC). */
type SentStamp = [kind: WireStamp["kind"], atNs: string, bytes: number];

function applyNoDelay(noDelay: NoDelay): (socket: Socket) => void {
  const seen = new WeakSet<Socket>();
  return (socket) => {
    if (noDelay === "default" || seen.has(socket)) return;
    seen.add(socket);
    socket.setNoDelay(noDelay === "on");
  };
}

async function runEmulatorChild(noDelay: NoDelay): Promise<void> {
  const emulator = await startServiceBusEmulator({ queues: [{ name: QUEUE, requiresSession: true, lockDurationInMs: 60_000 }] });
  const stamps = recordWireStamps(emulator.port, applyNoDelay(noDelay));
  process.on("message", (message: string) => {
    if (message === "reset") stamps.take();
    if (message === "take") process.send?.(stamps.take().map((stamp): SentStamp => [stamp.kind, stamp.atNs.toString(), stamp.bytes]));
    if (message === "stop") void emulator.stop().then(() => process.exit(0));
  });
  process.send?.({ port: emulator.port } satisfies ChildReady);
}

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN);
};

interface Publish {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** The legs of each publish from both sides' stamps, µs; a publish whose stamps do not pair (a heartbeat, a flow between) is left out. */
function legsOf(publishes: readonly Publish[], client: readonly WireStamp[], server: readonly WireStamp[]): Record<string, number[]> {
  const legs: Record<string, number[]> = { total: [], clientOut: [], toServer: [], server: [], toClient: [], clientIn: [] };
  const micros = (from: bigint, to: bigint): number => Number(to - from) / 1_000;
  let c = 0;
  let s = 0;
  for (const { startNs, endNs } of publishes) {
    while (c < client.length && (client[c]?.atNs ?? 0n) < startNs) c++;
    const clientWrite = client[c];
    if (clientWrite?.kind !== "write" || clientWrite.atNs > endNs) continue;
    let clientRead: WireStamp | undefined;
    for (let i = c + 1; i < client.length && (client[i]?.atNs ?? 0n) <= endNs; i++) if (client[i]?.kind === "read") clientRead = client[i];
    while (s < server.length && (server[s]?.atNs ?? 0n) < clientWrite.atNs) s++;
    const serverRead = server[s];
    const serverWrite = server.slice(s + 1).find((stamp) => stamp.kind === "write");
    if (clientRead === undefined || serverRead?.kind !== "read" || serverWrite === undefined || serverWrite.atNs > clientRead.atNs) continue;
    legs.total?.push(micros(startNs, endNs));
    legs.clientOut?.push(micros(startNs, clientWrite.atNs));
    legs.toServer?.push(micros(clientWrite.atNs, serverRead.atNs));
    legs.server?.push(micros(serverRead.atNs, serverWrite.atNs));
    legs.toClient?.push(micros(serverWrite.atNs, clientRead.atNs));
    legs.clientIn?.push(micros(clientRead.atNs, endNs));
  }
  return legs;
}

export async function measurePublishRoundTrip(publishes: number, noDelay: NoDelay, callers = 1): Promise<Record<string, number>> {
  coalesceAmqpWrites();
  const child = fork(fileURLToPath(import.meta.url), ["emulator", noDelay], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const [ready] = (await once(child, "message")) as [ChildReady];
  const stamps = recordWireStamps(ready.port, applyNoDelay(noDelay));
  const client = new ServiceBusClient(`Endpoint=sb://127.0.0.1:${ready.port};SharedAccessKeyName=${DEFAULT_SAS_KEY_NAME};SharedAccessKey=${DEFAULT_SAS_KEY};UseDevelopmentEmulator=true`);
  const publisher = new ServiceBusAuditPublisher(client.createSender(QUEUE));
  try {
    /** `count` publishes, `callers` at a time, each caller on a chain of its own (concurrent callers of one chain would share sends). */
    const run = async (count: number, timed: Publish[]): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: callers }, async (_, caller) => {
          while (next < count) {
            const i = next++;
            const startNs = process.hrtime.bigint();
            await publisher.publish([benchAuditEvent(`round-trip-${caller}`, i)]);
            timed.push({ startNs, endNs: process.hrtime.bigint() });
          }
        }),
      );
    };
    await run(Math.min(300, publishes), []); // warm: link, token, JIT
    stamps.take();
    child.send("reset");
    await new Promise((resolve) => setTimeout(resolve, 50));
    stamps.take();
    const timed: Publish[] = [];
    const cpu = process.cpuUsage();
    await run(publishes, timed);
    const used = process.cpuUsage(cpu);
    const clientStamps = stamps.take();
    child.send("take");
    const [sent] = (await once(child, "message")) as [SentStamp[]];
    const serverStamps = sent.map(([kind, atNs, bytes]): WireStamp => ({ kind, atNs: BigInt(atNs), bytes }));
    // Legs pair up only when one publish is in flight at a time; with more, the totals alone.
    const totals = timed.map(({ startNs, endNs }) => Number(endNs - startNs) / 1_000);
    const legs = callers === 1 ? legsOf(timed, clientStamps, serverStamps) : { total: totals };
    const result: Record<string, number> = { publishes, callers, paired: legs.total?.length ?? 0 };
    for (const [leg, values] of Object.entries(legs)) {
      result[`${leg}.p50Us`] = quantile(values, 0.5);
      result[`${leg}.p90Us`] = quantile(values, 0.9);
    }
    result["total.p99Us"] = quantile(totals, 0.99);
    result["total.maxUs"] = quantile(totals, 1);
    result.over10Ms = totals.filter((us) => us >= 10_000).length;
    result.over40Ms = totals.filter((us) => us >= 40_000).length;
    result.clientWritesPerPublish = Math.round((clientStamps.filter((stamp) => stamp.kind === "write").length / publishes) * 100) / 100;
    result.serverWritesPerPublish = Math.round((serverStamps.filter((stamp) => stamp.kind === "write").length / publishes) * 100) / 100;
    result.clientCpuMicrosPerPublish = Math.round((used.user + used.system) / publishes);
    result.loadAverage = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    return result;
  } finally {
    stamps.stop();
    await publisher.close().catch(() => undefined);
    await client.close().catch(() => undefined);
    child.send("stop");
    await Promise.race([once(child, "exit"), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [first = "2000", second = "default", third = "1"] = process.argv.slice(2);
  if (first === "emulator") await runEmulatorChild(second as NoDelay);
  else console.log(JSON.stringify({ noDelay: second, ...(await measurePublishRoundTrip(Number(first), second as NoDelay, Number(third))) }));
}
