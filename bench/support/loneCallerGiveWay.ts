import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { RequestsInFlight, giveWayToRequests } from "../../src/composition/requestsInFlight.js";
import { AuditAppender, type AuditMessage } from "../../src/core/audit/AuditAppender.js";
import { silentLogger } from "../../src/core/logger.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { benchCheckpointer } from "./benchCheckpointer.js";
import { startSeparateAzurite } from "./separateAzurite.js";

/**
 * What a lone caller's requests wait for behind the audit append and its checkpoint on the instance's
 * one thread, with the append's slices giving way to requests in flight (requestsInFlight.ts) and
 * without, alternated in one process (issue 22, the one-caller tail):
 * - a "request" every 50 ms (20 a second, the side-by-side harness's one caller): five steps of 0.2 ms
 *   of its own CPU, each followed by a 1 ms timer standing for a round trip, counted in flight;
 * - meanwhile the append as the trigger runs it at that pace: a delivery of 40 messages every 200 ms
 *   through AuditAppender and TableAuditLedger (Azurite in another process), a checkpoint every 1,000
 *   entries (from the hashes the appender committed, reading none back since session 12: benchCheckpointer.ts).
 * Per request: `foreignCpu`, this process's CPU during the request beyond the median request's (what
 * ran in front of it, whatever the machine's load: CPU time is not spent while waiting for a core; on a
 * quiet core the request waits about that long), and its wall latency (the machine's). Prints one JSON
 * line per phase.
 *
 *   node dist/bench/support/loneCallerGiveWay.js [secondsPerPhase=20] [pairs=2]
 */

/**
 * This process's CPU, ms (getrusage: exact at any moment, V8's helper threads included, which share the
 * one core with the main thread where the instance is pinned). /proc/thread-self/schedstat would be the
 * main thread alone, but it advances for a running thread only at the scheduler's ticks (4 ms here):
 * too coarse for a request of a few ms.
 */
const processCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
};
const round = (ms: number): number => Math.round(ms * 100) / 100;

let nextIndex = 0;
/** Each phase appends to a chain of its own, so every phase's checkpoints extend a chain of the same length. */
const delivery = (chain: string, size: number): AuditMessage[] => Array.from({ length: size }, () => ({ messageId: randomUUID(), body: Buffer.from(JSON.stringify(benchAuditEvent(chain, nextIndex++))) }));
let phases = 0;

async function phase(giveWay: boolean, seconds: number, table: TableClient): Promise<Record<string, number | string>> {
  const requests = new RequestsInFlight();
  const yieldTo = giveWay ? giveWayToRequests(20, requests) : undefined;
  const ledger = new TableAuditLedger(table, { dedupeLookup: "orQuery" });
  const bench = benchCheckpointer(ledger, yieldTo);
  const appender = new AuditAppender({ ledger, clock: { nowInMs: () => Date.now() }, logger: silentLogger, checkpointer: bench.checkpointer, checkpointEvery: 1000, checkpointEveryInMs: 0, ...(yieldTo ? { yieldToEventLoop: yieldTo } : {}) });
  const chain = `lone-${phases++}`;
  let running = true;
  const appending = (async () => {
    while (running) {
      await sleep(200);
      const outcomes = await appender.append(delivery(chain, 40));
      if (outcomes.some((outcome) => outcome.status !== "appended")) throw new Error("append failed");
    }
  })();
  const samples: { cpuMs: number; wallMs: number }[] = [];
  const startedAt = performance.now();
  const total = seconds * 20;
  for (let index = 0; index < total; index++) {
    const wait = startedAt + index * 50 - performance.now();
    if (wait > 0) await sleep(wait);
    const wallAt = performance.now();
    const cpuAt = processCpuMs();
    await requests.track(async () => {
      for (let step = 0; step < 5; step++) {
        busy(0.2);
        await sleep(1);
      }
    });
    samples.push({ cpuMs: processCpuMs() - cpuAt, wallMs: performance.now() - wallAt });
  }
  running = false;
  await appending;
  const medianCpu = quantile(samples.map((sample) => sample.cpuMs), 0.5);
  const foreign = samples.map((sample) => Math.max(0, sample.cpuMs - medianCpu));
  const walls = samples.map((sample) => sample.wallMs);
  return {
    giveWay: giveWay ? "on" : "off",
    requests: samples.length,
    checkpoints: bench.signed(),
    foreignCpuP50Ms: round(quantile(foreign, 0.5)),
    foreignCpuP99Ms: round(quantile(foreign, 0.99)),
    foreignCpuMaxMs: round(Math.max(...foreign)),
    requestsWithForeignCpuOver2Ms: foreign.filter((ms) => ms >= 2).length,
    requestsWithForeignCpuOver5Ms: foreign.filter((ms) => ms >= 5).length,
    wallP50Ms: round(quantile(walls, 0.5)),
    wallP99Ms: round(quantile(walls, 0.99)),
    wallMaxMs: round(Math.max(...walls)),
    loadAverage: loadavg()[0]?.toFixed(1) ?? "",
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 20);
  const pairs = Number(process.argv[3] ?? 2);
  const azurite = await startSeparateAzurite();
  try {
    const table = TableClient.fromConnectionString(azurite.connectionString, "AuditLog", { allowInsecureConnection: true });
    await phase(false, 3, table); // warm-up: JIT, connections, the table
    for (let pair = 0; pair < pairs; pair++) {
      for (const giveWay of pair % 2 === 0 ? [false, true] : [true, false]) console.log(JSON.stringify(await phase(giveWay, seconds, table)));
    }
  } finally {
    await azurite.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`loneCallerGiveWay failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
