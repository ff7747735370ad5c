import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildEntityGroupRequest } from "../../src/adapters/tables/audit/entityGroupBody.js";
import { createEntry } from "../../src/core/audit/ChainEntry.js";
import { benchAuditEvent } from "./benchAuditEvent.js";
import { watchHeap } from "./heapWatch.js";

/**
 * What the audit append's own code costs the thread that appends (by default the instance's main
 * thread), per entry: bytes allocated (V8's GC profiler, bench/support/heapWatch.ts) and CPU µs for
 * `createEntry` (canonical JSON and hash) of a typical event, parsed as the queue trigger parses it,
 * and its share of the Table transaction's body (two entries and the head, as a request's two
 * events), counted in UTF-8 bytes as the credential policy does before sending.
 *
 *   node dist/bench/support/appendAllocation.js [ROUNDS=16] [OTHER_DIST]
 *
 * With OTHER_DIST (another build's `dist`), its functions run in the same process, rounds
 * alternated (order flipped every other round), and the median ratio of the pairs is printed.
 */

interface AppendCode {
  readonly createEntry: typeof createEntry;
  readonly buildEntityGroupRequest: typeof buildEntityGroupRequest;
}

const PER_ROUND = 20_000;
const events = Array.from({ length: 64 }, (_, index) => JSON.parse(JSON.stringify(benchAuditEvent("bench", index, "2026-12-07T12:00:00.000Z"))) as ReturnType<typeof benchAuditEvent>);
const prevHash = "0".repeat(64);
const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const ACCOUNT = "http://127.0.0.1:10002/devstoreaccount1";
const IDS = { batchId: "6f0c4a52-39f5-4b1a-9d0e-0c2b6d1f3a11", changesetId: "0b6f7e1c-8a0d-4f55-a7b2-5d2f0c3e4b22" };
const HEAD_ETAG = "W/\"datetime'2026-12-07T12%3A00%3A01.0000000Z'\"";

function run(code: AppendCode, count: number): number {
  let length = 0;
  for (let index = 0; index < count; index += 2) {
    const rows = [index, index + 1].map((sequence) => {
      const entry = code.createEntry({ chainId: "bench", sequence, ts: "2026-12-07T12:00:01.000Z", prevHash, event: events[sequence % events.length] as (typeof events)[number] });
      const { chainId, rowKey, ...stored } = entry;
      return { kind: "insert" as const, row: { partitionKey: chainId, rowKey, ...stored } };
    });
    const head = { kind: "replace" as const, ifMatch: HEAD_ETAG, row: { partitionKey: "bench", rowKey: "head", seq: index + 1, hash: prevHash } };
    length += Buffer.byteLength(code.buildEntityGroupRequest(ACCOUNT, "AuditLog", [...rows, head], IDS).body);
  }
  return length;
}

async function main(): Promise<void> {
  const [roundsArg, otherDist] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 16);
  const builds: { name: string; code: AppendCode; micros: number[]; bytes: number[] }[] = [{ name: "this build", code: { createEntry, buildEntityGroupRequest }, micros: [], bytes: [] }];
  if (otherDist) {
    const dist = resolve(otherDist);
    const entries = (await import(pathToFileURL(join(dist, "src/core/audit/ChainEntry.js")).href)) as Pick<AppendCode, "createEntry">;
    const bodies = (await import(pathToFileURL(join(dist, "src/adapters/tables/audit/entityGroupBody.js")).href)) as Pick<AppendCode, "buildEntityGroupRequest">;
    builds.push({ name: dist, code: { createEntry: entries.createEntry, buildEntityGroupRequest: bodies.buildEntityGroupRequest }, micros: [], bytes: [] });
  }
  for (const build of builds) run(build.code, PER_ROUND);
  const heap = watchHeap();
  for (let round = 0; round < rounds; round += 1) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      heap.read();
      const before = cpuMicros();
      run(build.code, PER_ROUND);
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
  process.stderr.write(`appendAllocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
