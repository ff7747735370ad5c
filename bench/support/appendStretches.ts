import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { WorkerAuditAppender } from "../../src/adapters/workers/WorkerAuditAppender.js";
import { auditAppendWorkerUrl } from "../../src/composition/auditAppendWorkerUrl.js";
import { AuditAppender, type AuditMessage } from "../../src/core/audit/AuditAppender.js";
import { silentLogger } from "../../src/core/logger.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { benchCheckpointer } from "./benchCheckpointer.js";
import { startSeparateAzurite } from "./separateAzurite.js";

/**
 * The audit append as the deployed instance runs it, alone in this process, against Azurite in another
 * process: deliveries of 100 messages (one chain) through AuditAppender and TableAuditLedger. Prints
 * - cpuMicrosPerEvent: this process's CPU per appended event (no ticker running), right after a short
 *   warm-up (5 deliveries), so it includes the optimising compiler's threads tiering the code up;
 * - cpuMicrosPerEventWarm: the same measured again after both runs, i.e. in the steady state of a
 *   long-running instance;
 * - the event loop's stretches during the same work, run again with a ticker on setImmediate: the main
 *   thread's own CPU between two turns of the loop (/proc/thread-self/schedstat, so preemption by other
 *   processes on a busy machine does not count), i.e. what a request arriving then would wait for.
 *   Resolution: a thread that keeps running is charged there only at the scheduler's ticks (4 ms on
 *   this VM), so a stretch reads as about 0, 4, 8, 12 ms, each ±4 ms; compare counts and builds, not
 *   single values. (`process.cpuUsage()` is exact but adds V8's helper threads and the background
 *   work done while the loop waits, which made every build's longest stretch 12-25 ms.)
 * With `checkpoints` after the deliveries, the appender also signs a checkpoint every 1,000 entries (the
 * deployed default: from the hashes the appender committed, benchCheckpointer.ts; before session 12 it
 * read the new entries back and checked each).
 * With `worker`, the appender is the instance's append worker (WorkerAuditAppender and the built
 * dist/src/composition/auditAppendWorker.js, its own Table client; checkpoints are anchored in
 * Azurite's blobs and signed by the same stand-in, asked from this thread): the stretches are then the
 * main thread's (hand-over and outcomes), the CPU per event the whole process's, both threads.
 * Run it on two builds to compare: `node dist/bench/support/appendStretches.js [deliveries] [checkpoints] [worker]`; to see what
 * ran in the longest stretches, add `--cpu-prof --cpu-prof-dir=DIR --cpu-prof-interval 100` and pass each
 * of `longestStretchWindows` to `profileStretches.js DIR/CPU.*.cpuprofile 1 8 --window=FROM-TO`.
 */

const MESSAGES_PER_DELIVERY = 100;


/** Message bodies as the trigger hands them over (bytes of JSON). */
const delivery = (): AuditMessage[] => Array.from({ length: MESSAGES_PER_DELIVERY }, (_, i) => ({ messageId: randomUUID(), body: Buffer.from(JSON.stringify(benchAuditEvent("stretches", i))) }));

const SCHEDSTAT = "/proc/thread-self/schedstat";
/** The main thread's CPU time in ms (wall time where the kernel does not say). */
const mainThreadMs = existsSync(SCHEDSTAT) ? (): number => Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[0]) / 1e6 : (): number => performance.now();

export interface AppendStretches {
  readonly events: number;
  readonly cpuMicrosPerEvent: number;
  readonly cpuMicrosPerEventWarm: number;
  /** The main thread's own CPU per event in the warm run (schedstat, summed over many ticks; no ticker): what the HTTP thread pays. */
  readonly mainThreadMicrosPerEvent: number;
  readonly stretchP99Ms: number;
  readonly stretchMaxMs: number;
  /** Stretches over 5 ms, per delivery of 100. */
  readonly stretchesOver5MsPerDelivery: number;
  readonly longestStretchesMs: readonly number[];
  /** The longest stretches' wall-time windows on the monotonic clock (µs), for `profileStretches.js --window=` on a `--cpu-prof` of this run. */
  readonly longestStretchWindows: readonly string[];
  /** Checkpoints signed during the whole run (with `checkpoints`; a failed one is only logged by the appender). */
  readonly checkpointsSigned?: number;
}

export async function measureAppendStretches(deliveries: number, options: { checkpoints?: boolean; worker?: boolean } = {}): Promise<AppendStretches> {
  const azurite = await startSeparateAzurite();
  try {
    const table = TableClient.fromConnectionString(azurite.connectionString, "AuditLog", { allowInsecureConnection: true });
    const ledger = new TableAuditLedger(table, { dedupeLookup: "orQuery" });
    const bench = options.checkpoints === true ? benchCheckpointer(ledger) : undefined;
    const checkpoints = bench === undefined ? {} : { checkpointer: bench.checkpointer, checkpointEvery: 1000, checkpointEveryInMs: 300_000 };
    const workerUrl = options.worker === true ? auditAppendWorkerUrl() : null;
    if (options.worker === true && workerUrl === null) throw new Error("appendStretches worker: no built dist/src/composition/auditAppendWorker.js (npm run build)");
    const signer = benchCheckpointer(ledger).signer;
    const appender: Pick<AuditAppender, "append"> & { close?: () => Promise<void> } =
      workerUrl === null
        ? new AuditAppender({ ledger, clock: { nowInMs: () => Date.now() }, logger: silentLogger, ...checkpoints })
        : new WorkerAuditAppender({
            workerUrl,
            workerData: { storage: { connectionString: azurite.connectionString }, checkpointContainer: "bench-checkpoints", checkpointEvery: options.checkpoints === true ? 1000 : 0, checkpointEveryInMs: options.checkpoints === true ? 300_000 : 0, createIfMissing: true },
            signer: { sign: async (digest) => { signed += 1; return signer.sign(digest); } },
            signatureVerifier: signer,
            logger: silentLogger,
            timeoutInMs: 120_000,
          });
    let signed = 0;
    const appendAll = async (batches: readonly AuditMessage[][]): Promise<void> => {
      for (const batch of batches) {
        const outcomes = await appender.append(batch);
        if (outcomes.some((o) => o.status !== "appended")) throw new Error("append failed");
      }
    };
    await appendAll(Array.from({ length: 5 }, delivery)); // warm-up: JIT, connections, the table
    // CPU per event, nothing else running.
    let mainThreadMicrosPerEvent = 0;
    const cpuMicrosPerEvent = async (): Promise<number> => {
      const measured = Array.from({ length: deliveries }, delivery);
      const before = process.cpuUsage();
      const mainBefore = mainThreadMs();
      await appendAll(measured);
      mainThreadMicrosPerEvent = Math.round(((mainThreadMs() - mainBefore) * 1000) / (deliveries * MESSAGES_PER_DELIVERY));
      const used = process.cpuUsage(before);
      return Math.round((used.user + used.system) / (deliveries * MESSAGES_PER_DELIVERY));
    };
    const cold = await cpuMicrosPerEvent();
    // Stretches: a ticker on setImmediate notes the main thread's CPU between two turns of the loop.
    const batches = Array.from({ length: deliveries }, delivery);
    const stretches: number[] = [];
    const windows: { cpuMs: number; window: string }[] = [];
    const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
    let last = mainThreadMs();
    let lastUs = monotonicUs();
    let ticking = true;
    const tick = (): void => {
      // The last tick comes after the append ended: what ran before it is this bench's, not the append's.
      if (!ticking) return;
      const now = mainThreadMs();
      const nowUs = monotonicUs();
      stretches.push(now - last);
      if (now - last > 3) windows.push({ cpuMs: now - last, window: `${lastUs}-${nowUs}` });
      last = now;
      lastUs = nowUs;
      setImmediate(tick);
    };
    setImmediate(tick);
    await appendAll(batches);
    ticking = false;
    const warm = await cpuMicrosPerEvent();
    stretches.sort((a, b) => a - b);
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    const result: AppendStretches = {
      events: deliveries * MESSAGES_PER_DELIVERY,
      cpuMicrosPerEvent: cold,
      cpuMicrosPerEventWarm: warm,
      mainThreadMicrosPerEvent,
      stretchP99Ms: round(stretches[Math.floor(stretches.length * 0.99)] ?? 0),
      stretchMaxMs: round(stretches.at(-1) ?? 0),
      stretchesOver5MsPerDelivery: round(stretches.filter((ms) => ms > 5).length / deliveries),
      longestStretchesMs: stretches.slice(-5).map(round),
      longestStretchWindows: windows
        .sort((a, b) => b.cpuMs - a.cpuMs)
        .slice(0, 5)
        .map((w) => `${w.window} ${round(w.cpuMs)} ms`),
      ...(bench === undefined ? {} : { checkpointsSigned: workerUrl === null ? bench.signed() : signed }),
    };
    await appender.close?.();
    return result;
  } finally {
    await azurite.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const deliveries = Number(process.argv[2] ?? 30);
  const result = await measureAppendStretches(Number.isInteger(deliveries) && deliveries > 0 ? deliveries : 30, { checkpoints: process.argv.includes("checkpoints"), worker: process.argv.includes("worker") });
  console.log(JSON.stringify({ ...result, loadAverage: loadavg().map((value) => Math.round(value * 10) / 10) }));
}
