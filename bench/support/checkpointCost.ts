import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { AuditAppender, type AuditMessage } from "../../src/core/audit/AuditAppender.js";
import { type CheckpointOptions } from "../../src/core/audit/AuditCheckpointer.js";
import { type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";
import { silentLogger } from "../../src/core/logger.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { benchCheckpointer } from "./benchCheckpointer.js";
import { startSeparateAzurite } from "./separateAzurite.js";

/**
 * What one checkpoint costs the appender's instance, with and without its record of what it committed,
 * alternated in one process over the same chain: the deployed appender (AuditAppender, TableAuditLedger
 * against Azurite in another process) appends deliveries of 100 messages and signs a checkpoint every
 * 1,000 entries; checkpoint k is signed from the appender's run when k is even, by reading the 1,000 new
 * entries back when k is odd (the read path, as before). Per checkpoint it notes this process's CPU
 * (`process.cpuUsage`: all threads, exact), the wall time, and the Table requests it sent (a policy on
 * the table's pipeline). The first two checkpoints are warm-up and not counted.
 * `node dist/bench/support/checkpointCost.js [checkpoints]` (default 20: 10 each way).
 */

const MESSAGES_PER_DELIVERY = 100;
const CHECKPOINT_EVERY = 1_000;
const WARM_UP = 2;

interface Sample {
  readonly cpuMicros: number;
  readonly wallMs: number;
  readonly tableRequests: number;
}

export interface CheckpointCost {
  readonly checkpointsPerMode: number;
  readonly fromCommitted: Summary;
  readonly readBack: Summary;
}

interface Summary {
  readonly cpuMicrosBest: number;
  readonly cpuMicrosMedian: number;
  readonly wallMsBest: number;
  readonly wallMsMedian: number;
  readonly tableRequestsMedian: number;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

function summary(samples: readonly Sample[]): Summary {
  const cpu = samples.map((s) => s.cpuMicros);
  const wall = samples.map((s) => s.wallMs);
  return {
    cpuMicrosBest: Math.min(...cpu),
    cpuMicrosMedian: median(cpu),
    wallMsBest: round(Math.min(...wall)),
    wallMsMedian: round(median(wall)),
    tableRequestsMedian: median(samples.map((s) => s.tableRequests)),
  };
}

export async function measureCheckpointCost(checkpoints: number): Promise<CheckpointCost> {
  const azurite = await startSeparateAzurite();
  try {
    const table = TableClient.fromConnectionString(azurite.connectionString, `Cost${randomUUID().replaceAll("-", "").slice(0, 12)}`, { allowInsecureConnection: true });
    let requests = 0;
    table.pipeline.addPolicy({ name: "countRequests", sendRequest: (request, next) => ((requests += 1), next(request)) });
    const ledger = new TableAuditLedger(table, { dedupeLookup: "orQuery" });
    const { checkpointer } = benchCheckpointer(ledger);
    const samples: { fromCommitted: Sample[]; readBack: Sample[] } = { fromCommitted: [], readBack: [] };
    let signed = 0;
    const alternating = {
      async checkpoint(chainId: string, options: CheckpointOptions = {}): Promise<SignedCheckpoint> {
        const fromCommitted = signed % 2 === 0;
        if (fromCommitted && options.committed === undefined) throw new Error("the appender gave no run");
        const cpu = process.cpuUsage();
        const start = performance.now();
        const before = requests;
        const result = await checkpointer.checkpoint(chainId, fromCommitted ? options : {});
        const used = process.cpuUsage(cpu);
        const sample = { cpuMicros: used.user + used.system, wallMs: performance.now() - start, tableRequests: requests - before };
        if (signed >= WARM_UP) (fromCommitted ? samples.fromCommitted : samples.readBack).push(sample);
        signed += 1;
        return result;
      },
    };
    const appender = new AuditAppender({ ledger, clock: { nowInMs: () => Date.now() }, logger: silentLogger, checkpointer: alternating, checkpointEvery: CHECKPOINT_EVERY, checkpointEveryInMs: 0 });
    let index = 0;
    const delivery = (): AuditMessage[] => Array.from({ length: MESSAGES_PER_DELIVERY }, () => ({ messageId: randomUUID(), body: Buffer.from(JSON.stringify(benchAuditEvent("cost", index++))) }));
    while (signed < checkpoints + WARM_UP) {
      const outcomes = await appender.append(delivery());
      if (outcomes.some((o) => o.status !== "appended")) throw new Error("append failed");
    }
    return { checkpointsPerMode: samples.fromCommitted.length, fromCommitted: summary(samples.fromCommitted), readBack: summary(samples.readBack) };
  } finally {
    await azurite.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const checkpoints = Number(process.argv[2] ?? 20);
  const result = await measureCheckpointCost(Number.isInteger(checkpoints) && checkpoints > 1 ? checkpoints : 20);
  console.log(JSON.stringify({ ...result, loadAverage: loadavg().map((value) => round(value)) }));
}
