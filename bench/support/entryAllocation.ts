import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createEntry } from "../../src/core/audit/ChainEntry.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { watchHeap } from "./heapWatch.js";

/**
 * What the audit append's chain entry costs the thread that appends (by default the instance's main
 * thread): bytes allocated (V8's GC profiler, bench/support/heapWatch.ts) and CPU µs per `createEntry`
 * (its canonical JSON and hash) of a typical event, parsed as the queue trigger parses it.
 *
 *   node dist/bench/support/entryAllocation.js [ROUNDS=16] [OTHER_DIST]
 *
 * With OTHER_DIST (another build's `dist`), its `createEntry` runs in the same process, rounds
 * alternated (order flipped every other round), and the median ratio of the pairs is printed.
 */

type CreateEntry = typeof createEntry;

const PER_ROUND = 20_000;
const events = Array.from({ length: 64 }, (_, index) => JSON.parse(JSON.stringify(benchAuditEvent("bench", index, "2026-12-07T12:00:00.000Z"))) as ReturnType<typeof benchAuditEvent>);
const prevHash = "0".repeat(64);
const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

function run(create: CreateEntry, count: number): number {
  let length = 0;
  for (let index = 0; index < count; index += 1) length += create({ chainId: "bench", sequence: index, ts: "2026-12-07T12:00:01.000Z", prevHash, event: events[index % events.length] as (typeof events)[number] }).hash.length;
  return length;
}

async function main(): Promise<void> {
  const [roundsArg, otherDist] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 16);
  const builds: { name: string; create: CreateEntry; micros: number[]; bytes: number[] }[] = [{ name: "this build", create: createEntry, micros: [], bytes: [] }];
  if (otherDist) {
    const module = (await import(pathToFileURL(join(resolve(otherDist), "src/core/audit/ChainEntry.js")).href)) as { createEntry: CreateEntry };
    builds.push({ name: resolve(otherDist), create: module.createEntry, micros: [], bytes: [] });
  }
  for (const build of builds) run(build.create, PER_ROUND);
  const heap = watchHeap();
  for (let round = 0; round < rounds; round += 1) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      heap.read();
      const before = cpuMicros();
      run(build.create, PER_ROUND);
      build.micros.push((cpuMicros() - before) / PER_ROUND);
      build.bytes.push(heap.read().youngAllocatedBytes / PER_ROUND);
    }
  }
  heap.close();
  const [self] = builds;
  for (const build of builds) {
    const ratio = (pick: (of: typeof build) => number[]): string => (self ? median(pick(build).map((value, index) => value / (pick(self)[index] ?? Number.NaN))).toFixed(3) : "");
    process.stdout.write(
      `${build.name}: ${median(build.bytes).toFixed(0)} bytes and ${median(build.micros).toFixed(2)} µs CPU per entry (median of ${rounds} rounds of ${PER_ROUND}; best ${Math.min(...build.micros).toFixed(2)} µs)` +
        (build === self ? "\n" : `; ratio to this build ${ratio((of) => of.bytes)} bytes, ${ratio((of) => of.micros)} CPU\n`),
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`entryAllocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
