import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { drained, startStackChild } from "../deployed.js";
import { REQUEST_BODY, benchPolicy, startGatewayChild } from "../gateway.js";
import { type HeapFigures } from "./heapWatch.js";
import { Agent } from "node:http";
import { type LoadTarget, closedLoop, postForStatus } from "./load.js";
import { readLoopDiagnostics } from "./loopDiagnostics.js";
import { affinityOf, canPin, pin } from "./procStats.js";
import { stopChild } from "./stopChild.js";

/**
 * Bytes the instance's main isolate allocates per governed chat completion (issue 22: fewer
 * allocations, fewer scavenges, fewer objects promoted), counted by V8's GC profiler
 * (bench/support/heapWatch.ts), so the figure holds on a busy machine: the work is the same
 * whatever the load average. The deployed shape of bench/deployed.ts: the stack and the mock upstream
 * on core 0, ONE instance on core 1 that serves, consumes the audit queue (its appends in the worker
 * thread, the receive and hand-over on the main thread) and runs its timers.
 *
 *   node dist/bench/support/allocPerRequest.js [ROUNDS=3] [REQUESTS=2000] [OTHER_DIST ...]
 *
 * Each round starts a fresh instance, warms it (3 s closed loop, 16 callers), reads its allocation at
 * rest for 2 s (the timers), then sends exactly REQUESTS, 16 callers at a time (`closedCount`: the
 * same work however slow the machine is), and waits for the audit queue to drain.
 * Prints per request: KB allocated in the young generation (raw, and net of the rest rate over the
 * same time), KB promoted by scavenges, and scavenges and mark-compacts per 1,000 requests. Each
 * OTHER_DIST is another build's `dist` holding this bench support (copy `bench/support/heapWatch.js`,
 * `gatewayServer.js` and `loopDiagnostics.js` there): its rounds alternate with this build's, and the
 * median ratio of each pair is printed. PALISADE_BENCH_HEAP_PROFILE=FILE: one more round of this
 * build under the sampling heap profiler, the profile written there and its top sites printed.
 */

interface Round {
  readonly build: string;
  readonly requests: number;
  readonly youngKbPerRequest: number;
  readonly netYoungKbPerRequest: number;
  readonly allKbPerRequest: number;
  readonly promotedKbPerRequest: number;
  readonly scavengesPer1000: number;
  readonly markCompactsPer1000: number;
  readonly restKbPerSecond: number;
}

type StartInstance = typeof startGatewayChild;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

async function heapOf(url: string | undefined, watch?: "off"): Promise<HeapFigures> {
  const read = await readLoopDiagnostics(url, watch);
  if (!read?.heap) throw new Error("the instance serves no heap figures: is bench/support/heapWatch.js in its build?");
  return read.heap;
}

/** As many callers as the side-by-side harness's connections, each sending its next request when the last one answered. */
const CONNECTIONS = 16;

/**
 * Exactly `count` requests, `connections` at a time on as many keep-alive connections: every request is
 * served however slow the machine (a fixed rate drops what a starved instance cannot take, and the
 * timers' and connections' own allocation then weigh on fewer requests).
 */
async function closedCount(target: LoadTarget, connections: number, count: number): Promise<{ requests: number; failures: number }> {
  const url = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const body = Buffer.from(target.body);
  const headers = { ...target.headers, "content-length": String(body.byteLength) };
  let sent = 0;
  let failures = 0;
  const caller = async (): Promise<void> => {
    for (; sent < count; ) {
      sent += 1;
      const status = await postForStatus(agent, url, headers, body);
      if (status < 200 || status > 299) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  agent.destroy();
  return { requests: count - failures, failures };
}

async function measure(build: string, start: StartInstance, environment: Record<string, string>, statsUrl: string, core: string | null, requests: number): Promise<Round> {
  const instance = await start({ ...environment, PALISADE_BENCH_DEPLOYED: "1", PALISADE_BENCH_HEAP: "1" }, core, null);
  try {
    const target: LoadTarget = { url: `${instance.ready.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${instance.ready.apiKey}` }, body: REQUEST_BODY };
    await closedLoop(target, 16, 3);
    await drained(statsUrl, 60_000);
    await sleep(500);
    // The bench's loop watch allocates too: stopped for the rest of the round.
    await heapOf(instance.ready.diagnosticsUrl, "off");
    await sleep(2_000);
    const rest = await heapOf(instance.ready.diagnosticsUrl);
    const run = await closedCount(target, CONNECTIONS, requests);
    await drained(statsUrl, 60_000);
    const loaded = await heapOf(instance.ready.diagnosticsUrl);
    const served = Math.max(1, run.requests + run.failures);
    const restPerSecond = rest.youngAllocatedBytes / rest.seconds;
    return {
      build,
      requests: served,
      youngKbPerRequest: round(loaded.youngAllocatedBytes / served / 1024),
      netYoungKbPerRequest: round((loaded.youngAllocatedBytes - restPerSecond * loaded.seconds) / served / 1024),
      allKbPerRequest: round(loaded.allocatedBytes / served / 1024),
      promotedKbPerRequest: round(loaded.promotedBytes / served / 1024, 2),
      scavengesPer1000: round((loaded.scavenges * 1000) / served),
      markCompactsPer1000: round((loaded.markCompacts * 1000) / served, 2),
      restKbPerSecond: round(restPerSecond / 1024),
    };
  } finally {
    await stopChild(instance.child);
  }
}

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** The sampled bytes by allocating function and its two callers, largest first. */
async function topSites(file: string, count: number): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, "utf8")) as { head: ProfileNode };
  const bySite = new Map<string, number>();
  let total = 0;
  const frame = (node: ProfileNode): string => `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.replace(/^.*\/(dist|node_modules)\//, "")}:${node.callFrame.lineNumber + 1}`;
  const walk = (node: ProfileNode, callers: readonly string[]): void => {
    const stack = [...callers, frame(node)];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const site = stack.slice(-3).reverse().join(" <- ");
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, stack);
  };
  walk(profile.head, []);
  return [`sampled ${round(total / 1_048_576)} MB`, ...[...bySite].sort((a, b) => b[1] - a[1]).slice(0, count).map(([site, bytes]) => `${round((100 * bytes) / total).toFixed(1).padStart(5)} % ${site}`)];
}

async function main(): Promise<void> {
  const [roundsArg, requestsArg, ...otherDists] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 3);
  const requests = Number(requestsArg ?? 2000);
  // Read here and taken out of the environment the children inherit: only the profiled round samples.
  const profileFile = process.env.PALISADE_BENCH_HEAP_PROFILE;
  delete process.env.PALISADE_BENCH_HEAP_PROFILE;
  const here = resolve(fileURLToPath(new URL("../..", import.meta.url)));
  const builds: { name: string; start: StartInstance }[] = [{ name: here, start: startGatewayChild }];
  for (const dist of otherDists) {
    const module = (await import(pathToFileURL(join(resolve(dist), "bench/gateway.js")).href)) as { startGatewayChild: StartInstance };
    builds.push({ name: resolve(dist), start: module.startGatewayChild });
  }
  const directory = await mkdtemp(join(tmpdir(), "palisade-alloc-"));
  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  const mock = await startMockOpenAi({ name: "eu-west-standard", region: "westeurope", maxRecorded: 10 });
  let stack: Awaited<ReturnType<typeof startStackChild>> | null = null;
  try {
    if (pinned) pin(process.pid, "0");
    stack = await startStackChild(directory, pinned ? "0" : null);
    const policyPath = join(directory, "policy.json");
    await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, true)));
    const environment = { ...stack.ready.environment, PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error", PALISADE_BENCH_PROJECT: "bench", PALISADE_BENCH_SERVICE_ACCOUNT: "bench-app" };
    const core = pinned ? "1" : null;
    const all: Round[] = [];
    for (let index = 0; index < rounds; index++) {
      // Alternated, and the order flipped every other round, so drift weighs on every build alike.
      const order = index % 2 === 0 ? builds : [...builds].reverse();
      for (const build of order) {
        const result = await measure(build.name, build.start, environment, stack.ready.statsUrl, core, requests);
        all.push(result);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      }
    }
    const keys = ["youngKbPerRequest", "netYoungKbPerRequest", "allKbPerRequest", "promotedKbPerRequest", "scavengesPer1000", "markCompactsPer1000"] as const;
    for (const build of builds) {
      const mine = all.filter((result) => result.build === build.name);
      const summary = Object.fromEntries(keys.flatMap((key) => [[`${key}Median`, round(median(mine.map((result) => result[key])), 2)], [`${key}Best`, Math.min(...mine.map((result) => result[key]))]]));
      process.stdout.write(`${build.name}: ${JSON.stringify(summary)}\n`);
    }
    for (const other of builds.slice(1)) {
      const base = all.filter((result) => result.build === here);
      const theirs = all.filter((result) => result.build === other.name);
      const ratio = (key: (typeof keys)[number]): number => round(median(base.map((result, index) => (theirs[index]?.[key] ?? Number.NaN) / result[key])), 3);
      process.stdout.write(`${other.name} / this build, median of the pairs: young ${ratio("youngKbPerRequest")}, net young ${ratio("netYoungKbPerRequest")}, promoted ${ratio("promotedKbPerRequest")}\n`);
    }
    if (profileFile) {
      const profiled = await measure(here, (environmentWith, pinTo, cpu) => startGatewayChild({ ...environmentWith, PALISADE_BENCH_HEAP_PROFILE: profileFile }, pinTo, cpu), environment, stack.ready.statsUrl, core, requests);
      process.stdout.write(`profiled round (the profiler's own cost included): ${JSON.stringify(profiled)}\n${(await topSites(profileFile, 40)).join("\n")}\n`);
    }
  } finally {
    if (stack) await stopChild(stack.child).catch(() => undefined);
    if (originalAffinity) pin(process.pid, originalAffinity);
    await mock.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`allocation bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
