import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable, type Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { TableClient } from "@azure/data-tables";
import { startMockOpenAi } from "../local/mockOpenAi/index.js";
import { AUDIT_LOG_TABLE } from "../src/adapters/tables/audit/auditEntities.js";
import { DEPLOYMENT, REQUEST_BODY, benchPolicy, startGatewayChild } from "./gateway.js";
import { measureAzuriteGrowth } from "./support/azuriteGrowth.js";
import { costPerMillionRequests } from "./support/costModel.js";
import { type LoadResult, type LoadTarget, closedLoop, fixedRate, sequential } from "./support/load.js";
import { lateTurnsLine, recordLoop, recordStackLoop, recordStages, scenarioLine } from "./support/deployedFigures.js";
import { readLoopDiagnostics } from "./support/loopDiagnostics.js";
import { affinityOf, canPin, pin, sampleCpuMicrosPrecise, sampleProcess, sampleThreads } from "./support/procStats.js";
import { type StackServerReady, type StackStats } from "./support/stackServer.js";
import { stopChild } from "./support/stopChild.js";

/**
 * Palisade in the deployed shape (issue "Performance in the deployed shape"): ONE instance that
 * serves HTTP, consumes the audit queue (appends to the chain) and runs its timers, as Azure and
 * `npm start` run it; the local stack (Azurite, the Service Bus and Key Vault emulators) in a process
 * of its own, as those services run on their own machines in Azure. Pinned: the instance on core 1;
 * the stack, the mock upstream and the load generator on core 0.
 *
 * Reports, per scenario: latency over calling the mock directly, the instance's CPU per request
 * (including the appends of that scenario's events, measured until the queue has drained), the
 * stack's CPU per request, and round trips per request by kind, counted at the emulators (Service
 * Bus, Key Vault) and at a counting proxy in front of Azurite's Table endpoint. Then the split of the
 * instance's CPU into HTTP path and µs per appended event, the effect of a 300 ms upstream, and the
 * cost model (bench/support/costModel.ts). See docs/benchmarks.md.
 */

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startStackChild(directory: string, pinToCore: string | null): Promise<{ child: Child; ready: StackServerReady }> {
  const script = fileURLToPath(new URL("./support/stackServer.js", import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing: run the bench from the build (npm run bench)`);
  // PALISADE_BENCH_STACK_CPU_PROF=DIR: a V8 CPU profile of the stack (Azurite and the emulators) there.
  const profileDirectory = process.env.PALISADE_BENCH_STACK_CPU_PROF;
  const nodeArgs = [...(profileDirectory ? ["--cpu-prof", "--cpu-prof-dir", profileDirectory] : []), script, directory];
  const [command, args] = pinToCore ? ["taskset", ["-c", pinToCore, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => void (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-4000)));
  const ready = await new Promise<StackServerReady>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`the stack child did not start within 60 s: ${stderr}`)), 60_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(stdout.slice(0, newline)) as StackServerReady);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the stack child exited with ${String(code)}: ${stderr}`));
    });
  });
  return { child, ready };
}

export async function statsOf(statsUrl: string): Promise<StackStats> {
  const response = await fetch(statsUrl);
  return (await response.json()) as StackStats;
}

/**
 * Events in the bench project's chain (its head's size; 0 before the first append). The queue's depth
 * counts messages, and a message may carry several events (packed), so events are counted here.
 */
async function chainSize(environment: Readonly<Record<string, string>>): Promise<number> {
  const table = TableClient.fromConnectionString(environment.AZURE_STORAGE_CONNECTION_STRING ?? "", AUDIT_LOG_TABLE, { allowInsecureConnection: true });
  try {
    const head = await table.getEntity<{ size?: number }>("bench", "head");
    return Number(head.size ?? 0);
  } catch {
    return 0;
  }
}

/** Waits until the audit queue is empty (every event appended), at most `timeoutInMs`; returns whether it drained. */
export async function drained(statsUrl: string, timeoutInMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    if ((await statsOf(statsUrl)).auditQueueDepth === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function difference(after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>, per: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [kind, count] of Object.entries(after)) {
    const delta = count - (before[kind] ?? 0);
    if (delta > 0) result[kind] = delta / Math.max(1, per);
  }
  return result;
}

export interface DeployedBenchOptions {
  readonly quick: boolean;
  /** Write a V8 CPU profile of the deployed instance here (`node --cpu-prof`); its figures are then the profiler's, not the instance's. */
  readonly cpuProfileDirectory?: string | null;
  readonly log?: (line: string) => void;
}

export async function runDeployedBench(options: DeployedBenchOptions): Promise<Record<string, number>> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const seconds = options.quick ? 3 : 10;
  const directory = await mkdtemp(join(tmpdir(), "palisade-deployed-"));
  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  const children: Child[] = [];
  const mock = await startMockOpenAi({ name: "eu-west-standard", region: "westeurope", maxRecorded: 10 });
  try {
    if (pinned) pin(process.pid, "0");
    const stack = await startStackChild(directory, pinned ? "0" : null);
    children.push(stack.child);
    const { statsUrl } = stack.ready;
    const policyPath = join(directory, "policy.json");
    await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, true)));
    const environment = { ...stack.ready.environment, PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error", PALISADE_BENCH_PROJECT: "bench", PALISADE_BENCH_SERVICE_ACCOUNT: "bench-app" };
    const direct: LoadTarget = {
      url: `${mock.url}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`,
      headers: { "content-type": "application/json", "api-key": "unused-local" },
      body: REQUEST_BODY,
    };
    const results: Record<string, number> = {};

    // PALISADE_BENCH_SCENARIOS=serial,rate200 runs only those, and PALISADE_BENCH_SPLIT=off skips the
    // split (for a focused CPU profile of the deployed instance).
    const chosen = process.env.PALISADE_BENCH_SCENARIOS?.split(",") ?? null;
    const split = process.env.PALISADE_BENCH_SPLIT !== "off";

    // 1. The HTTP path alone: an instance that does not consume the queue. Its events stay queued.
    let servedHttpOnly = 0;
    if (split) {
      const httpOnly = await startGatewayChild(environment, pinned ? "1" : null, null);
      children.push(httpOnly.child);
      const httpTarget: LoadTarget = { url: `${httpOnly.ready.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${httpOnly.ready.apiKey}` }, body: REQUEST_BODY };
      // Warmed up as the deployed instance is before its scenarios (JIT, lazy modules, connections): a
      // 3 s run right after a 2 s warm-up read up to 2x the warm figure.
      const warmUp = await closedLoop(httpTarget, 16, options.quick ? 4 : 8);
      servedHttpOnly += warmUp.requests + warmUp.failures;
      const perRequestAt = async (rate: number, runSeconds = seconds) => {
        const queuedBefore = (await statsOf(statsUrl)).auditQueueDepth;
        await readLoopDiagnostics(httpOnly.ready.diagnosticsUrl);
        const before = sampleProcess(httpOnly.ready.pid);
        const run = await fixedRate(httpTarget, rate, runSeconds);
        const after = sampleProcess(httpOnly.ready.pid);
        const loop = await readLoopDiagnostics(httpOnly.ready.diagnosticsUrl);
        const queuedAfter = (await statsOf(statsUrl)).auditQueueDepth;
        const served = Math.max(1, run.requests + run.failures);
        servedHttpOnly += run.requests + run.failures;
        return { cpu: (after.cpuMicros - before.cpuMicros) / served, messages: (queuedAfter - queuedBefore) / served, loop };
      };
      const first = await perRequestAt(200, options.quick ? 2 : 5);
      const at200 = await perRequestAt(200);
      // The gateway bench's rate: per-request costs fall with the rate (wake-ups and publishes are shared).
      const at500 = await perRequestAt(500);
      results["split.httpCpuMicrosPerRequest"] = round(at200.cpu, 0);
      results["split.httpCpuMicrosPerRequestAt500"] = round(at500.cpu, 0);
      results["split.httpCpuMicrosPerRequestFirstRun"] = round(first.cpu, 0);
      results["split.messagesPerRequest"] = round(at200.messages, 2);
      // The same instance's loop without the audit append and the timers: set beside rate200.loopDelay*
      // (the deployed instance), it says whether the stalls come with the append (issue 22).
      if (at200.loop) {
        recordLoop(results, "split", at200.loop);
        recordStages(results, "split", at200.loop.stages ?? {}, "p50-p99");
      }
      await stopChild(httpOnly.child);
    }

    // 2. The deployed instance: it starts, then drains what the HTTP-only instance left queued.
    const instance = await startGatewayChild({ ...environment, PALISADE_BENCH_DEPLOYED: "1" }, pinned ? "1" : null, options.cpuProfileDirectory ?? null);
    children.push(instance.child);
    const pid = instance.ready.pid;
    const drainStart = sampleProcess(pid);
    const sizeBefore = await chainSize(environment);
    const toDrain = (await statsOf(statsUrl)).auditQueueDepth;
    const drainStartedAt = Date.now();
    const allDrained = await drained(statsUrl, 120_000);
    const drainEnd = sampleProcess(pid);
    const drainSeconds = Math.max(0.001, (Date.now() - drainStartedAt) / 1000);
    const drainedEvents = (await chainSize(environment)) - sizeBefore;
    results["split.drainedMessages"] = toDrain;
    results["split.drainedEvents"] = drainedEvents;
    if (servedHttpOnly > 0) results["split.eventsPerRequest"] = round(drainedEvents / servedHttpOnly, 2);
    results["split.appendMicrosPerEvent"] = allDrained && drainedEvents > 0 ? round((drainEnd.cpuMicros - drainStart.cpuMicros) / drainedEvents, 0) : Number.NaN;
    results["split.appendEventsPerSecond"] = allDrained ? round(drainedEvents / drainSeconds, 0) : Number.NaN;
    if (split) {
      log(
        `deployed bench: HTTP path ${results["split.httpCpuMicrosPerRequest"]} µs/request at 200 req/s (first run after the warm-up ${results["split.httpCpuMicrosPerRequestFirstRun"]}), ${results["split.httpCpuMicrosPerRequestAt500"]} at 500, ` +
          `${results["split.eventsPerRequest"]} events and ${results["split.messagesPerRequest"]} queue messages/request` +
          ` (loop delay p99 ${results["split.loopDelayP99Ms"]} max ${results["split.loopDelayMaxMs"]} ms, GC max ${results["split.gcMaxMs"]} ms, without the append and timers); drained ${drainedEvents} events (${toDrain} messages) at ${results["split.appendMicrosPerEvent"]} µs CPU each`,
      );
    }

    const target: LoadTarget = { url: `${instance.ready.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${instance.ready.apiKey}` }, body: REQUEST_BODY };
    await closedLoop(target, 16, options.quick ? 2 : 5);
    await drained(statsUrl, 60_000);
    // At rest, the instance's own CPU: the bench's loop watch (a 10 ms monitor, and with the stage
    // timings a 1 ms timer) is stopped meanwhile, as `palisade host` runs none. The same window with
    // it running first, so the bench says what its watch costs.
    const idlePercent = async (): Promise<number> => {
      const idleAt = sampleCpuMicrosPrecise(pid);
      await sleep(2_000);
      return round(((sampleCpuMicrosPrecise(pid) - idleAt) / 2_000_000) * 100, 2);
    };
    results.idleCpuPercentWatched = await idlePercent();
    await readLoopDiagnostics(instance.ready.diagnosticsUrl, "off");
    results.idleCpuPercent = await idlePercent();
    await readLoopDiagnostics(instance.ready.diagnosticsUrl, "on");
    log(`deployed bench: at rest the instance used ${results.idleCpuPercent} % of a core (${results.idleCpuPercentWatched} % with the bench's loop watch running)`);
    const stackPid = stack.ready.pid;

    // `unwatched`: the instance's CPU is measured with the bench's loop watch stopped (no loop or GC
    // figures then). At 20 req/s its 100 wake-ups a second would be a large share of what is measured.
    const scenarios: { name: string; run: (load: LoadTarget) => Promise<LoadResult>; unwatched?: boolean }[] = [
      { name: "serial", run: (load) => sequential(load, options.quick ? 200 : 1_000) },
      // One caller's pace, as the side-by-side harness's 20 req/s: CPU per request where fixed costs do not amortise.
      { name: "rate20", run: (load) => fixedRate(load, 20, options.quick ? 5 : 20), unwatched: true },
      { name: "rate100", run: (load) => fixedRate(load, 100, seconds) },
      { name: "rate200", run: (load) => fixedRate(load, 200, seconds) },
      ...(options.quick ? [] : [{ name: "rate500", run: (load: LoadTarget) => fixedRate(load, 500, seconds) }]),
      { name: "closed16", run: (load) => closedLoop(load, 16, seconds) },
    ];
    let peakRssMb = 0;
    for (const scenario of scenarios) {
      if (chosen && !chosen.includes(scenario.name)) continue;
      const viaDirect = await scenario.run(direct);
      const operationsBefore = (await statsOf(statsUrl)).operations;
      await readLoopDiagnostics(instance.ready.diagnosticsUrl, scenario.unwatched === true ? "off" : undefined);
      await readLoopDiagnostics(stack.ready.diagnosticsUrl);
      const threadsBefore = sampleThreads(pid);
      const before = sampleCpuMicrosPrecise(pid);
      const stackBefore = sampleProcess(stackPid);
      const windowStartUs = process.hrtime.bigint() / 1_000n;
      const viaGateway = await scenario.run(target);
      // On the machine's monotonic clock, as a V8 CPU profile's timestamps: `profileStretches.js --window=`.
      log(`deployed bench: ${scenario.name} ran in the window ${windowStartUs}-${process.hrtime.bigint() / 1_000n} (monotonic µs)`);
      const loop = scenario.unwatched === true ? null : await readLoopDiagnostics(instance.ready.diagnosticsUrl);
      const stackLoop = await readLoopDiagnostics(stack.ready.diagnosticsUrl);
      // The appends of this scenario's events are part of its cost: wait for the queue to drain.
      const caughtUp = await drained(statsUrl, 60_000);
      const after = sampleCpuMicrosPrecise(pid);
      const afterRssPeakMb = sampleProcess(pid).rssPeakMb;
      const threadsAfter = sampleThreads(pid);
      const stackAfter = sampleProcess(stackPid);
      // Unwatched: the stage timings (PALISADE_BENCH_STAGES=1) still come, with the watch started again.
      const unwatchedRead = scenario.unwatched === true ? await readLoopDiagnostics(instance.ready.diagnosticsUrl, "on") : null;
      const served = viaGateway.requests + viaGateway.failures;
      const operations = difference((await statsOf(statsUrl)).operations, operationsBefore, served);
      peakRssMb = Math.max(peakRssMb, afterRssPeakMb);
      const prefix = scenario.name;
      results[`${prefix}.rps`] = round(viaGateway.requestsPerSecond, 0);
      results[`${prefix}.directRps`] = round(viaDirect.requestsPerSecond, 0);
      results[`${prefix}.p50Ms`] = round(viaGateway.p50Ms, 3);
      results[`${prefix}.p99Ms`] = round(viaGateway.p99Ms, 3);
      results[`${prefix}.deltaP50Ms`] = round(viaGateway.p50Ms - viaDirect.p50Ms, 3);
      results[`${prefix}.deltaP90Ms`] = round(viaGateway.p90Ms - viaDirect.p90Ms, 3);
      results[`${prefix}.deltaP99Ms`] = round(viaGateway.p99Ms - viaDirect.p99Ms, 3);
      results[`${prefix}.failures`] = viaGateway.failures;
      results[`${prefix}.dropped`] = viaGateway.dropped;
      results[`${prefix}.drained`] = caughtUp ? 1 : 0;
      results[`${prefix}.instanceCpuMicrosPerRequest`] = round((after - before) / Math.max(1, served), 0);
      results[`${prefix}.stackCpuMicrosPerRequest`] = round((stackAfter.cpuMicros - stackBefore.cpuMicros) / Math.max(1, served), 0);
      results[`${prefix}.instanceMainThreadMicrosPerRequest`] = round((threadsAfter.mainMicros - threadsBefore.mainMicros) / Math.max(1, served), 0);
      for (const [kind, perRequest] of Object.entries(operations)) results[`${prefix}.roundTrips.${kind}`] = round(perRequest, 3);
      // Where a tail can come from inside the instance: a late event loop, GC pauses (during the load only).
      if (loop) {
        recordLoop(results, prefix, loop);
        results[`${prefix}.gcMsPerRequest`] = round(loop.gcMs / Math.max(1, served), 4);
        results[`${prefix}.gcMajorCount`] = loop.gcMajorCount;
        const turns = loop.cpuStretches;
        if (turns) log(lateTurnsLine(prefix, turns));
      }
      // The stack's own loop and GC during the load: a round trip waits behind them.
      if (stackLoop) recordStackLoop(results, prefix, stackLoop);
      const stages = { ...(loop ?? unwatchedRead)?.stages, ...stackLoop?.stages };
      recordStages(results, prefix, stages, "all");
      log(scenarioLine({ prefix, viaGateway, viaDirect, results, caughtUp, loop, stackLoop, operations, stages }));
    }

    // 3. A realistic upstream: 300 ms to answer. Governance should overlap it, not add to it.
    if (!chosen || chosen.includes("upstream300")) {
      mock.setFault({ latencyInMs: 300 });
      const slowDirect = await fixedRate(direct, 50, seconds);
      const slowGateway = await fixedRate(target, 50, seconds);
      mock.setFault(null);
      results["upstream300.deltaP50Ms"] = round(slowGateway.p50Ms - slowDirect.p50Ms, 3);
      results["upstream300.deltaP99Ms"] = round(slowGateway.p99Ms - slowDirect.p99Ms, 3);
      results["upstream300.failures"] = slowGateway.failures;
      log(`deployed bench: upstream answering in 300 ms, 50 req/s: over direct p50 +${results["upstream300.deltaP50Ms"]} p99 +${results["upstream300.deltaP99Ms"]} ms`);
    }

    results.rssPeakMb = round(Math.max(peakRssMb, sampleProcess(pid).rssPeakMb), 1);
    results.stackRssMb = round(sampleProcess(stackPid).rssMb, 1);
    results.pinned = pinned ? 1 : 0;

    // 4. The bill: USD per million chat requests at the 200 req/s shape.
    const roundTrips: Record<string, number> = {};
    for (const [key, value] of Object.entries(results)) if (key.startsWith("rate200.roundTrips.")) roundTrips[key.slice("rate200.roundTrips.".length)] = value;
    const cost = costPerMillionRequests({
      instanceCpuMicrosPerRequest: results["rate200.instanceCpuMicrosPerRequest"] ?? Number.NaN,
      serialLatencyMs: results["serial.p50Ms"] ?? Number.NaN,
      // Upper bound: one trigger execution per queue message (the trigger takes batches of them).
      executionsPerRequest: 1 + (results["split.messagesPerRequest"] ?? 1),
      operationsPerRequest: roundTrips,
    });
    for (const [key, value] of Object.entries(cost)) results[`costPerMillion.${key}`] = round(value, 3);
    log(
      `deployed bench: cost per million chat requests (list prices, see docs/benchmarks.md): $${cost.totalBusyUsd.toFixed(2)} busy / $${cost.totalSerialUsd.toFixed(2)} serial ` +
        `(compute $${cost.computeBusyUsd.toFixed(2)}-${cost.computeSerialUsd.toFixed(2)}, executions $${cost.executionsUsd.toFixed(2)}, Service Bus $${cost.serviceBusUsd.toFixed(2)}, ` +
        `Table $${cost.tableUsd.toFixed(3)}, Key Vault $${cost.keyVaultUsd.toFixed(3)})`,
    );

    // 5. The local stack as its data grows (npm start serving for hours): Azurite's cost per insert.
    if (!chosen || chosen.includes("growth")) {
      const growth = await measureAzuriteGrowth(options.quick ? 10_000 : 30_000);
      results["growth.rows"] = growth.rows;
      results["growth.transactionCpuMsEarly"] = round(growth.transactionCpuMsEarly, 1);
      results["growth.transactionCpuMsAtRows"] = round(growth.transactionCpuMsAtRows, 1);
      log(`deployed bench: Azurite, a 100-row transaction into one partition: ${results["growth.transactionCpuMsEarly"]} ms CPU at first, ${results["growth.transactionCpuMsAtRows"]} ms at ${growth.rows} rows`);
    }
    return results;
  } finally {
    for (const child of children.reverse()) await stopChild(child).catch(() => undefined);
    if (originalAffinity) pin(process.pid, originalAffinity);
    await mock.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
