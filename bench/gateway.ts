import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable, type Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { startMockOpenAi } from "../local/mockOpenAi/index.js";
import { startLocalStack } from "../local/stack.js";
import { type PolicyInput } from "../src/core/policy/schema.js";
import { type GatewayServerReady } from "./support/gatewayServer.js";
import { type LoadResult, type LoadTarget, closedLoop, fixedRate } from "./support/load.js";
import { type ProcessSample, affinityOf, canPin, pin, sampleProcess, sampleThreads } from "./support/procStats.js";
import { stopChild } from "./support/stopChild.js";

/**
 * The cost of governance: the gateway with every check on (API key, RBAC and IP allowlist, DLP,
 * limits with RPM/TPM and budgets so the counter store is used, routing, audit publish to the
 * Service Bus emulator) against a mock upstream, compared in the same run with calling the mock
 * directly. The gateway runs alone in a child process (pinned to core 1 when taskset exists) so its
 * CPU time and RSS come from /proc; the load generator, the mock, Azurite and the emulators share
 * core 0. See docs/benchmarks.md for the method.
 */

export const DEPLOYMENT = "gpt-4o-mini";

/**
 * Node flags for the Functions worker, as infra sets them (`languageWorkers__node__arguments` in
 * infra/functionapp.tf; test/infra/functionapp.test.ts keeps the two equal). The bench's children run
 * with them, so the figures are those of the deployed configuration.
 */
export const WORKER_NODE_ARGUMENTS = "--heap-growing-percent=50";

/** The scenarios the references run too: the target's rate and the saturated closed loop. */
const REFERENCE_SCENARIOS: readonly string[] = ["closed16", "rate500"];

/** Measured after the gateway, in the same run: key prefix, bench server, name in the log. */
const REFERENCES: readonly (readonly [string, BenchServer, string])[] = [
  ["floor", "platformFloorServer", "platform floor"],
  ["plainProxy", "plainProxyServer", "plain node:http proxy"],
];

/** A typical governed request: a system prompt, a question with no sensitive data, a bounded answer. */
export const REQUEST_BODY = JSON.stringify({
  model: DEPLOYMENT,
  messages: [
    { role: "system", content: "You are a concise assistant for an internal finance team. Answer in plain English." },
    {
      role: "user",
      content:
        "Summarise in two sentences why the third-quarter operating margin fell while revenue grew, given that freight costs rose, " +
        "the new warehouse opened in September and the marketing budget was front-loaded into July and August.",
    },
  ],
  max_tokens: 128,
  temperature: 0.2,
});

/**
 * `withLimits: false` (PALISADE_BENCH_LIMITS=off) leaves limits and budgets out, so no counter is
 * stored: a diagnostic to see what the counter store costs, not the governed configuration.
 */
export function benchPolicy(upstreamUrl: string, withLimits: boolean): PolicyInput {
  // Limits far above what the bench sends, so the counter store is exercised but never refuses.
  const high = withLimits ? { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000 } : {};
  return {
    version: 1,
    projects: [
      {
        id: "bench",
        residency: "eu",
        models: [{ name: DEPLOYMENT, deployment: DEPLOYMENT }],
        defaultClassification: "internal",
        maxTokens: 1024,
        limits: high,
        ...(withLimits ? { budget: { dailyUsd: 1_000_000, monthlyUsd: 10_000_000 } } : {}),
        auditOnPublishFailure: "fail_closed",
      },
    ],
    serviceAccounts: [{ id: "bench-app", project: "bench", permissions: ["chat.completions", "models.list"], ipAllowlist: ["127.0.0.0/8", "::1/128"], limits: high }],
    endpoints: [
      {
        id: "eu-west-standard",
        provider: "azure",
        baseUrl: upstreamUrl,
        region: "westeurope",
        residency: "eu",
        class: "standard",
        deployments: [DEPLOYMENT],
        priority: 1,
        auth: { kind: "none" },
        timeoutInMs: 10_000,
      },
    ],
    pricing: { [DEPLOYMENT]: { inputPer1M: 0.15, outputPer1M: 0.6 } },
    network: { trustedProxyHops: 1 },
  };
}

type GatewayChild = ChildProcessByStdio<Writable, Readable, Readable>;

/** What a bench child serves: the whole gateway, the platform floor or a plain proxy (see `support/`). */
export type BenchServer = "gatewayServer" | "platformFloorServer" | "plainProxyServer";

export async function startGatewayChild(
  environment: Record<string, string>,
  pinToCore: string | null,
  cpuProfileDirectory: string | null,
  server: BenchServer = "gatewayServer",
): Promise<{ child: GatewayChild; ready: GatewayServerReady }> {
  const script = fileURLToPath(new URL(`./support/${server}.js`, import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing: run the bench from the build (npm run bench)`);
  // The worker's flags as infra deploys them; PALISADE_BENCH_NODE_ARGS replaces them (empty: none),
  // for the child only, e.g. to try a GC setting without touching the load generator.
  const extraNodeArgs = (process.env.PALISADE_BENCH_NODE_ARGS ?? WORKER_NODE_ARGUMENTS).split(" ").filter((arg) => arg.length > 0);
  const nodeArgs = [...extraNodeArgs, ...(cpuProfileDirectory ? ["--cpu-prof", "--cpu-prof-dir", cpuProfileDirectory] : []), script];
  const [command, args] = pinToCore ? ["taskset", ["-c", pinToCore, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args, { env: { ...process.env, ...environment }, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => void (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-4000)));
  const ready = await new Promise<GatewayServerReady>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`the gateway child did not start within 60 s: ${stderr}`)), 60_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.slice(0, newline)) as GatewayServerReady);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway child exited with ${String(code)}: ${stderr}`));
    });
  });
  return { child, ready };
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

export interface GatewayBenchOptions {
  readonly quick: boolean;
  /** Write a V8 CPU profile of the gateway child here (`node --cpu-prof`). */
  readonly cpuProfileDirectory?: string | null;
  /** Progress lines (stderr by default). */
  readonly log?: (line: string) => void;
}

export async function runGatewayBench(options: GatewayBenchOptions): Promise<Record<string, number>> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  // Quick: about 30 s of load in all (2 s closed loop, 3 s fixed rate, each for gateway and direct).
  const seconds = options.quick ? 3 : 10;
  const closedSeconds = options.quick ? 2 : 10;
  const directory = await mkdtemp(join(tmpdir(), "palisade-bench-"));
  const stack = await startLocalStack({ stateDirectory: directory });
  const mock = await startMockOpenAi({ name: "eu-west-standard", region: "westeurope", maxRecorded: 10 });
  const policyPath = join(directory, "policy.json");
  const withLimits = process.env.PALISADE_BENCH_LIMITS !== "off";
  if (!withLimits) log("gateway bench: PALISADE_BENCH_LIMITS=off: limits and budgets left out (diagnostic run)");
  await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, withLimits)));

  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  let child: GatewayChild | null = null;
  try {
    if (pinned) pin(process.pid, "0");
    const started = await startGatewayChild(
      { ...stack.environment, PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error", PALISADE_BENCH_PROJECT: "bench", PALISADE_BENCH_SERVICE_ACCOUNT: "bench-app" },
      pinned ? "1" : null,
      options.cpuProfileDirectory ?? null,
    );
    child = started.child;
    const { ready } = started;
    const gateway: LoadTarget = {
      url: `${ready.url}/v1/chat/completions`,
      headers: { "content-type": "application/json", authorization: `Bearer ${ready.apiKey}` },
      body: REQUEST_BODY,
    };
    const direct: LoadTarget = {
      url: `${mock.url}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`,
      headers: { "content-type": "application/json", "api-key": "unused-local" },
      body: REQUEST_BODY,
    };
    const atStart = sampleProcess(ready.pid);
    const probe = await fetch(gateway.url, { method: "POST", headers: gateway.headers, body: gateway.body });
    if (probe.status !== 200) throw new Error(`the gateway refused the bench request: ${probe.status} ${(await probe.text()).slice(0, 500)}`);

    // Warm up: JIT, the API key cache, the storage and Service Bus connections.
    log(`gateway bench: warming up (${pinned ? "gateway pinned to core 1, load on core 0" : "taskset unavailable: not pinned"})`);
    const warm = await closedLoop(gateway, 16, options.quick ? 2 : 5);
    if (warm.requests === 0) throw new Error("the gateway answered no request with 2xx during warm-up");
    await closedLoop(direct, 16, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = sampleProcess(ready.pid);
    // Background CPU with no request in flight (timers, AMQP and storage keep-alives, GC).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleCpuPercent = ((sampleProcess(ready.pid).cpuMicros - idle.cpuMicros) / 2_000_000) * 100;

    const results: Record<string, number> = {};
    let peakRssMb = idle.rssMb;
    const record = (name: string, viaGateway: LoadResult, viaDirect: LoadResult, before: ProcessSample, after: ProcessSample): void => {
      peakRssMb = Math.max(peakRssMb, after.rssMb);
      const cpuPerRequest = viaGateway.requests > 0 ? (after.cpuMicros - before.cpuMicros) / (viaGateway.requests + viaGateway.failures) : Number.NaN;
      results[`${name}.gatewayRps`] = round(viaGateway.requestsPerSecond, 0);
      results[`${name}.directRps`] = round(viaDirect.requestsPerSecond, 0);
      results[`${name}.gatewayP50Ms`] = round(viaGateway.p50Ms, 3);
      results[`${name}.gatewayP90Ms`] = round(viaGateway.p90Ms, 3);
      results[`${name}.gatewayP99Ms`] = round(viaGateway.p99Ms, 3);
      results[`${name}.directP50Ms`] = round(viaDirect.p50Ms, 3);
      results[`${name}.directP90Ms`] = round(viaDirect.p90Ms, 3);
      results[`${name}.directP99Ms`] = round(viaDirect.p99Ms, 3);
      results[`${name}.gatewayFailures`] = viaGateway.failures;
      results[`${name}.gatewayDropped`] = viaGateway.dropped;
      results[`${name}.cpuMicrosPerRequest`] = round(cpuPerRequest, 0);
      log(
        `gateway bench: ${name}: gateway ${viaGateway.requestsPerSecond.toFixed(0)} req/s p50 ${viaGateway.p50Ms.toFixed(2)} p99 ${viaGateway.p99Ms.toFixed(2)} ms, ` +
          `direct ${viaDirect.requestsPerSecond.toFixed(0)} req/s p50 ${viaDirect.p50Ms.toFixed(2)} p99 ${viaDirect.p99Ms.toFixed(2)} ms, ` +
          `${cpuPerRequest.toFixed(0)} µs CPU/request, ${viaGateway.failures} failures, ${viaGateway.dropped} not sent (too many in flight)`,
      );
    };

    const scenarios: { name: string; run: (target: LoadTarget) => Promise<LoadResult> }[] = [
      // One request at a time: the cost of a request with no queue anywhere.
      { name: "closed1", run: (target) => closedLoop(target, 1, closedSeconds) },
      // Light load, well under saturation.
      { name: "rate100", run: (target) => fixedRate(target, 100, seconds) },
      { name: "closed16", run: (target) => closedLoop(target, 16, closedSeconds) },
      { name: "closed64", run: (target) => closedLoop(target, 64, closedSeconds) },
      { name: "rate500", run: (target) => fixedRate(target, 500, seconds) },
      { name: "rate1000", run: (target) => fixedRate(target, 1000, seconds) },
    ];
    // PALISADE_BENCH_SCENARIOS=closed1,rate100 runs only those (for a focused CPU profile).
    const chosen = process.env.PALISADE_BENCH_SCENARIOS?.split(",") ?? null;
    const directResults = new Map<string, LoadResult>();
    for (const scenario of scenarios.filter((candidate) => chosen === null || chosen.includes(candidate.name))) {
      const viaDirect = await scenario.run(direct);
      directResults.set(scenario.name, viaDirect);
      const threadsBefore = sampleThreads(ready.pid);
      const before = sampleProcess(ready.pid);
      const viaGateway = await scenario.run(gateway);
      const after = sampleProcess(ready.pid);
      const threadsAfter = sampleThreads(ready.pid);
      record(scenario.name, viaGateway, viaDirect, before, after);
      // Where the CPU went, by thread: the main (JavaScript) thread, V8's GC/compiler helpers, libuv's pool.
      const total = Math.max(1, after.cpuMicros - before.cpuMicros);
      const mainShare = (threadsAfter.mainMicros - threadsBefore.mainMicros) / total;
      results[`${scenario.name}.mainThreadCpuShare`] = round(mainShare, 2);
      const wallMicros = (viaGateway.requests / Math.max(1, viaGateway.requestsPerSecond)) * 1_000_000;
      log(`gateway bench: ${scenario.name}: main thread ${(mainShare * 100).toFixed(0)}% of the CPU; process busy ${((total / wallMicros) * 100).toFixed(0)}% of the run`);
    }
    const end = sampleProcess(ready.pid);
    await stopChild(child);
    child = null;

    // References, in the same run and on the same core: the platform floor (the Functions host, the
    // upstream adapter and a Service Bus publish, none of Palisade's checks) and a plain node:http proxy.
    // Quick: the platform floor at 500 req/s only, to stay within the quick run's two minutes.
    const referenceScenarios = scenarios.filter(
      (candidate) => (options.quick ? candidate.name === "rate500" : REFERENCE_SCENARIOS.includes(candidate.name)) && directResults.has(candidate.name),
    );
    const references: Record<string, number> = {};
    for (const [prefix, server, label] of options.quick ? REFERENCES.slice(0, 1) : REFERENCES) {
      if (referenceScenarios.length === 0) break;
      const started = await startGatewayChild(
        { ...stack.environment, PALISADE_FLOOR_UPSTREAM_URL: mock.url, PALISADE_FLOOR_DEPLOYMENT: DEPLOYMENT },
        pinned ? "1" : null,
        null,
        server,
      );
      child = started.child;
      const pid = started.ready.pid;
      const target: LoadTarget = { ...gateway, url: `${started.ready.url}/v1/chat/completions` };
      const atReferenceStart = sampleProcess(pid);
      const warmed = await closedLoop(target, 16, options.quick ? 2 : 5);
      if (warmed.requests === 0) throw new Error(`the ${label} answered no request with 2xx during warm-up`);
      for (const scenario of referenceScenarios) {
        const before = sampleProcess(pid);
        const measured = await scenario.run(target);
        const after = sampleProcess(pid);
        const cpuPerRequest = (after.cpuMicros - before.cpuMicros) / Math.max(1, measured.requests + measured.failures);
        references[`${prefix}.${scenario.name}.cpuMicrosPerRequest`] = round(cpuPerRequest, 0);
        references[`${prefix}.${scenario.name}.rps`] = round(measured.requestsPerSecond, 0);
        references[`${prefix}.${scenario.name}.p50Ms`] = round(measured.p50Ms, 3);
        references[`${prefix}.${scenario.name}.p99Ms`] = round(measured.p99Ms, 3);
        references[`${prefix}.${scenario.name}.failures`] = measured.failures;
        const direct = directResults.get(scenario.name);
        if (scenario.name === "rate500" && direct) {
          references[`${prefix}.deltaP50Ms500`] = round(measured.p50Ms - direct.p50Ms, 3);
          references[`${prefix}.deltaP99Ms500`] = round(measured.p99Ms - direct.p99Ms, 3);
        }
        log(
          `gateway bench: ${label}, ${scenario.name}: ${measured.requestsPerSecond.toFixed(0)} req/s p50 ${measured.p50Ms.toFixed(2)} p99 ${measured.p99Ms.toFixed(2)} ms ` +
            `(direct p50 ${direct?.p50Ms.toFixed(2) ?? "-"} ms), ${cpuPerRequest.toFixed(0)} µs CPU/request, ${measured.failures} failures`,
        );
      }
      references[`${prefix}.rssStartMb`] = round(atReferenceStart.rssMb, 1);
      references[`${prefix}.rssPeakMb`] = round(sampleProcess(pid).rssPeakMb, 1);
      await stopChild(child);
      child = null;
    }
    const floorCpu500 = references["floor.rate500.cpuMicrosPerRequest"] ?? Number.NaN;

    return {
      cpuMicrosPerRequest: results["rate500.cpuMicrosPerRequest"] ?? Number.NaN,
      cpuMicrosPerRequestAt100: results["rate100.cpuMicrosPerRequest"] ?? Number.NaN,
      cpuMicrosPerRequestSerial: results["closed1.cpuMicrosPerRequest"] ?? Number.NaN,
      deltaP50Ms500: round((results["rate500.gatewayP50Ms"] ?? Number.NaN) - (results["rate500.directP50Ms"] ?? Number.NaN), 3),
      deltaP99Ms500: round((results["rate500.gatewayP99Ms"] ?? Number.NaN) - (results["rate500.directP99Ms"] ?? Number.NaN), 3),
      deltaP50Ms1000: round((results["rate1000.gatewayP50Ms"] ?? Number.NaN) - (results["rate1000.directP50Ms"] ?? Number.NaN), 3),
      deltaP99Ms1000: round((results["rate1000.gatewayP99Ms"] ?? Number.NaN) - (results["rate1000.directP99Ms"] ?? Number.NaN), 3),
      idleCpuPercent: round(idleCpuPercent, 1),
      limitsStored: withLimits ? 1 : 0,
      rssStartMb: round(atStart.rssMb, 1),
      rssIdleMb: round(idle.rssMb, 1),
      rssPeakMb: round(Math.max(peakRssMb, end.rssPeakMb), 1),
      pinned: pinned ? 1 : 0,
      // The platform floor at 500 req/s, and what governance adds on top of it.
      floorCpuMicrosPerRequest: floorCpu500,
      governanceCpuMicrosPerRequest: round((results["rate500.cpuMicrosPerRequest"] ?? Number.NaN) - floorCpu500, 0),
      ...references,
      ...results,
    };
  } finally {
    if (child) await stopChild(child);
    if (originalAffinity) pin(process.pid, originalAffinity);
    await mock.stop();
    await stack.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
