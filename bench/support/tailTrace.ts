import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LoopPause } from "../../local/loopWatch.js";
import { drained, startStackChild } from "../deployed.js";
import { DEPLOYMENT, REQUEST_BODY, benchPolicy, startGatewayChild } from "../gateway.js";
import { type LoadTarget, closedLoop, postForStatus } from "./load.js";
import { type LoopDiagnostics, readLoopDiagnostics } from "./loopDiagnostics.js";
import { affinityOf, canPin, pin } from "./procStats.js";
import { type StageSpan } from "./stageTimings.js";
import { stopChild } from "./stopChild.js";

/**
 * Where a lone caller's slow requests wait (issue 22, "one caller at a time: p99 over direct ≤ 10 ms").
 * The deployed shape as the side-by-side harness runs it: the stack (Azurite, the Service Bus and Key
 * Vault emulators, in worker threads) and the mock upstream on core 0, ONE instance that serves,
 * appends and runs its timers on core 1, free ports. One caller sends a request every 1/rate s (the
 * harness's 20 req/s), each request's window kept on the monotonic clock; the instance times every
 * round trip and function invocation (PALISADE_BENCH_TRACE=1) and every thread of both processes
 * keeps its GC pauses and late loop turns with their windows (PALISADE_LOOP_TRACE=1). Then, for the
 * slowest 1 %, what overlapped them: which stage was slow, and what held the thread it waited on.
 *
 *   node dist/bench/support/tailTrace.js [requests=1000] [rate=20] [warmSeconds=3] [rawJsonFile]
 *
 * Traced, each thread runs a 1 ms timer: the figures are the diagnosis's, not the latency targets'.
 */

interface Sample {
  readonly fromUs: number;
  readonly toUs: number;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1_000n);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One caller on one keep-alive connection, a request due every 1/rate s (sent at once if the last one ended late). */
async function paced(target: LoadTarget, count: number, rate: number): Promise<Sample[]> {
  const url = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from(target.body);
  const headers = { ...target.headers, "content-length": String(body.byteLength) };
  const samples: Sample[] = [];
  const startedAt = performance.now();
  for (let index = 0; index < count; index++) {
    const wait = startedAt + (index * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const fromUs = monotonicUs();
    const status = await postForStatus(agent, url, headers, body);
    if (status >= 200 && status < 300) samples.push({ fromUs, toUs: monotonicUs() });
  }
  agent.destroy();
  return samples;
}

const ms = (us: number): number => Number((us / 1_000).toFixed(2));
const percentile = (sorted: readonly number[], fraction: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
const overlapUs = (a: Sample, b: Sample): number => Math.max(0, Math.min(a.toUs, b.toUs) - Math.max(a.fromUs, b.fromUs));
const median = (values: readonly number[]): number => percentile([...values].sort((x, y) => x - y), 0.5);

/** The request's own round trips: the stage spans that started inside its window. */
const REQUEST_STAGES = ["publish.request_admitted", "upstream", "publish.api_call", "limits.apply", "limits.settle"];

interface Row {
  readonly latencyMs: number;
  readonly excessMs: number;
  /** Each own stage's time over that stage's median, and `rest`: the latency outside the stages over its median. */
  readonly stageExcessMs: Record<string, number>;
  readonly slowStage: string;
  /** The instance's main thread over the whole request: CPU over the median request's, wait for a core, GC, and the invocations beside the request. */
  readonly instance: Record<string, number>;
  /** Each stack thread in the slow stage's window (the whole request for `rest`): CPU, wait for a core, GC. */
  readonly stack: Record<string, Record<string, number>>;
  readonly cause: string;
}

/** A thread's CPU and wait for a core within a window, from its 1 ms series (local/loopWatch.ts `cpuSeries`). */
function cpuIn(series: readonly number[] | undefined, window: Sample): { cpuUs: number; waitUs: number } {
  if (!series || series.length < 6) return { cpuUs: 0, waitUs: 0 };
  // The last tick at or before a moment (binary search over the triples).
  const at = (us: number): number => {
    let low = 0;
    let high = series.length / 3 - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((series[middle * 3] ?? 0) <= us) low = middle;
      else high = middle - 1;
    }
    return low * 3;
  };
  const from = at(window.fromUs);
  // The tick after the window's end: what ran up to it is what the window saw (1 ms resolution).
  const to = Math.min(series.length - 3, at(window.toUs) + 3);
  return { cpuUs: (series[to + 1] ?? 0) - (series[from + 1] ?? 0), waitUs: (series[to + 2] ?? 0) - (series[from + 2] ?? 0) };
}

function gcIn(pauses: readonly LoopPause[] | undefined, window: Sample): number {
  return (pauses ?? []).filter((pause) => pause.kind === "gc").reduce((total, pause) => total + overlapUs(window, pause), 0);
}

/** The stack thread a stage waits on. */
const STAGE_THREAD: Record<string, string> = { "publish.request_admitted": "servicebus", "publish.api_call": "servicebus", "limits.apply": "azurite", "limits.settle": "azurite", upstream: "main" };

function analyse(samples: readonly Sample[], instance: LoopDiagnostics, stack: LoopDiagnostics): Row[] {
  const spans = [...(instance.spans ?? [])].sort((a, b) => a.fromUs - b.fromUs);
  const own = (sample: Sample): StageSpan[] => spans.filter((span) => REQUEST_STAGES.includes(span.stage) && span.fromUs >= sample.fromUs && span.fromUs < sample.toUs);
  const stagesOf = (sample: Sample): Record<string, number> => {
    const durations: Record<string, number> = {};
    let inStages = 0;
    for (const span of own(sample)) {
      durations[span.stage] = (durations[span.stage] ?? 0) + (span.toUs - span.fromUs);
      inStages += span.toUs - span.fromUs;
    }
    durations.rest = sample.toUs - sample.fromUs - inStages;
    return durations;
  };
  const all = samples.map(stagesOf);
  const medians: Record<string, number> = {};
  for (const stage of [...REQUEST_STAGES, "rest"]) medians[stage] = median(all.map((durations) => durations[stage] ?? 0));
  const latencyMedian = median(samples.map((sample) => sample.toUs - sample.fromUs));
  const cpuMedian = median(samples.map((sample) => cpuIn(instance.cpuSeries, sample).cpuUs));
  const count = Math.max(1, Math.ceil(samples.length * 0.01));
  const slowest = samples.map((sample, index) => ({ sample, index })).sort((a, b) => b.sample.toUs - b.sample.fromUs - (a.sample.toUs - a.sample.fromUs)).slice(0, count);
  return slowest.map(({ sample, index }) => {
    const durations = all[index] ?? {};
    const stageExcessMs: Record<string, number> = {};
    let slowStage = "rest";
    let worst = Number.NEGATIVE_INFINITY;
    for (const stage of [...REQUEST_STAGES, "rest"]) {
      const excess = (durations[stage] ?? 0) - (medians[stage] ?? 0);
      stageExcessMs[stage] = ms(excess);
      if (excess > worst) [worst, slowStage] = [excess, stage];
    }
    const excessUs = sample.toUs - sample.fromUs - latencyMedian;
    // The instance over the whole request: what else its one thread ran meanwhile.
    const instanceCpu = cpuIn(instance.cpuSeries, sample);
    const beside: Record<string, number> = {};
    for (const span of spans) {
      if (!span.stage.startsWith("function.") || (/chat/i.test(span.stage) && span.fromUs >= sample.fromUs && span.fromUs < sample.toUs)) continue;
      const overlap = overlapUs(sample, span);
      if (overlap > 0) beside[span.stage] = (beside[span.stage] ?? 0) + overlap;
    }
    const instanceFigures: Record<string, number> = {
      cpuExcessMs: ms(instanceCpu.cpuUs - cpuMedian),
      waitForCoreMs: ms(instanceCpu.waitUs),
      gcMs: ms(gcIn(instance.pauses, sample)),
      ...Object.fromEntries(Object.entries(beside).map(([stage, us]) => [`${stage}Ms`, ms(us)])),
    };
    // The stack's threads in the slow stage's window (the whole request for `rest`).
    const window = slowStage === "rest" ? sample : (own(sample).find((span) => span.stage === slowStage) ?? sample);
    const stackFigures: Record<string, Record<string, number>> = {};
    for (const [thread, diagnostics] of Object.entries(stack.threads ?? {})) {
      const { cpuUs, waitUs } = cpuIn(diagnostics.cpuSeries, window);
      stackFigures[thread] = { cpuMs: ms(cpuUs), waitForCoreMs: ms(waitUs), gcMs: ms(gcIn(diagnostics.pauses, window)) };
    }
    // The cause: the largest of the instance's extra CPU (by what ran), its wait for a core, and the slow stage's stack thread.
    const thread = STAGE_THREAD[slowStage];
    const stackThread = thread ? stackFigures[thread] : undefined;
    const candidates: [string, number][] = [
      [beside["function.appendAuditEvents"] ? "instance CPU: the audit trigger" : (instanceFigures.gcMs ?? 0) > 2 ? "instance CPU: GC" : "instance CPU: other work", (instanceCpu.cpuUs - cpuMedian) / 1_000],
      ["instance: no core (waiting to run)", instanceCpu.waitUs / 1_000],
      [`stack ${thread ?? "?"} thread (${slowStage}): CPU${(stackThread?.gcMs ?? 0) > 2 ? " in GC" : ""}`, stackThread?.cpuMs ?? 0],
      [`stack ${thread ?? "?"} thread (${slowStage}): no core`, stackThread?.waitForCoreMs ?? 0],
    ];
    const [cause, causeMs] = candidates.sort((a, b) => b[1] - a[1])[0] ?? ["unexplained", 0];
    return {
      latencyMs: ms(sample.toUs - sample.fromUs),
      excessMs: ms(excessUs),
      stageExcessMs,
      slowStage,
      instance: instanceFigures,
      stack: stackFigures,
      cause: causeMs >= (excessUs / 1_000) * 0.3 ? cause : `unexplained (largest: ${cause})`,
    };
  });
}

async function main(): Promise<void> {
  const [countArg, rateArg, warmArg, rawFile] = process.argv.slice(2);
  const count = Number(countArg ?? 1000);
  const rate = Number(rateArg ?? 20);
  const warmSeconds = Number(warmArg ?? 3);
  process.env.PALISADE_LOOP_TRACE = "1";
  const directory = await mkdtemp(join(tmpdir(), "palisade-tailtrace-"));
  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  const mock = await startMockOpenAi({ name: "eu-west-standard", region: "westeurope", maxRecorded: 10 });
  const children: Parameters<typeof stopChild>[0][] = [];
  try {
    if (pinned) pin(process.pid, "0");
    const stack = await startStackChild(directory, pinned ? "0" : null);
    children.push(stack.child);
    const policyPath = join(directory, "policy.json");
    await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, true)));
    const environment = {
      ...stack.ready.environment,
      PALISADE_POLICY: policyPath,
      PALISADE_LOG_LEVEL: "error",
      PALISADE_BENCH_PROJECT: "bench",
      PALISADE_BENCH_SERVICE_ACCOUNT: "bench-app",
      PALISADE_BENCH_DEPLOYED: "1",
      PALISADE_BENCH_TRACE: "1",
    };
    const instance = await startGatewayChild(environment, pinned ? "1" : null, null);
    children.push(instance.child);
    const direct: LoadTarget = { url: `${mock.url}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`, headers: { "content-type": "application/json", "api-key": "unused-local" }, body: REQUEST_BODY };
    const target: LoadTarget = { url: `${instance.ready.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${instance.ready.apiKey}` }, body: REQUEST_BODY };
    await closedLoop(target, 16, warmSeconds);
    await drained(stack.ready.statsUrl, 60_000);
    await sleep(1_000);
    const viaDirect = await paced(direct, count, rate);
    await readLoopDiagnostics(instance.ready.diagnosticsUrl);
    await readLoopDiagnostics(stack.ready.diagnosticsUrl);
    const viaGateway = await paced(target, count, rate);
    const instanceTrace = await readLoopDiagnostics(instance.ready.diagnosticsUrl);
    const stackTrace = await readLoopDiagnostics(stack.ready.diagnosticsUrl);
    if (!instanceTrace || !stackTrace) throw new Error("no diagnostics from the instance or the stack");
    const sorted = (samples: readonly Sample[]): number[] => samples.map((sample) => (sample.toUs - sample.fromUs) / 1_000).sort((a, b) => a - b);
    const gateway = sorted(viaGateway);
    const plain = sorted(viaDirect);
    const figures = {
      requests: viaGateway.length,
      p50Ms: Number(percentile(gateway, 0.5).toFixed(2)),
      p99Ms: Number(percentile(gateway, 0.99).toFixed(2)),
      deltaP50Ms: Number((percentile(gateway, 0.5) - percentile(plain, 0.5)).toFixed(2)),
      deltaP99Ms: Number((percentile(gateway, 0.99) - percentile(plain, 0.99)).toFixed(2)),
      over10MsAboveMedian: gateway.filter((latency) => latency - percentile(gateway, 0.5) >= 10).length,
    };
    const rows = analyse(viaGateway, instanceTrace, stackTrace);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    const slowStages: Record<string, number> = {};
    const causes: Record<string, number> = {};
    for (const row of rows) {
      slowStages[row.slowStage] = (slowStages[row.slowStage] ?? 0) + 1;
      causes[row.cause] = (causes[row.cause] ?? 0) + 1;
    }
    process.stdout.write(`slowest ${rows.length} of ${viaGateway.length}, by slow stage: ${JSON.stringify(slowStages)}\nby cause: ${JSON.stringify(causes, null, 1)}\n`);
    if (rawFile) await writeFile(rawFile, JSON.stringify({ figures, viaGateway, viaDirect, instanceTrace, stackTrace }));
  } finally {
    for (const child of children.reverse()) await stopChild(child).catch(() => undefined);
    if (originalAffinity) pin(process.pid, originalAffinity);
    await mock.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`tail trace failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
