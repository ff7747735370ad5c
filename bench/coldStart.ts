import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable, type Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { startMockOpenAi } from "../local/mockOpenAi/index.js";
import { REQUEST_BODY, benchPolicy } from "./gateway.js";
import { sampleProcess } from "./support/procStats.js";
import { type StackServerReady } from "./support/stackServer.js";
import { type StartupTrace } from "./support/startupTrace.js";
import { stopChild } from "./support/stopChild.js";

/**
 * Cold start as the side-by-side harness (../shared/perfanchor) measures it: `palisade host` spawned
 * (`node --heap-growing-percent=50 bin/palisade.js host --port N`, serving, appending and running its
 * timers) beside a running local stack whose tables exist, timed from spawn to the first 200 of a
 * governed chat completion (API key, DLP, limits and a budget, fail_closed audit), polling every 10 ms.
 *
 * - `first200Ms` (median; `first200MinMs`), `first200CpuMs` (the child's CPU until then), `listenMs`
 *   (spawn to the first request that found the port open); `rssAtFirst200Mb`, and `rssSettledMb` /
 *   `rssPeakSettledMb` 2.5 s later (after the token encodings loaded), with the warm code cache a
 *   start writes (bin/codeCache.cjs). `trainedCache.*`: the same with only the build's trained cache
 *   (a fresh deployment's first start); `unbundled.*`: the compiled modules run without the bundle
 *   (`node dist/src/cli/index.js host`); all three alternated start by start in the same machine state.
 * - `breakdown.*`: one more start with bench/support/startupTrace.ts preloaded: Node's own start, the
 *   module graph and host until listening, the first request, and its outgoing calls by kind (with
 *   `--cpu-prof=DIR`, its CPU profile too).
 * - `modules.*CpuMs`: CPU to import each heavy package alone in a fresh process (what the graph costs).
 */

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "bin", "palisade.js");
/** What bin/palisade.js runs once `npm run build` bundled the app, and the compiled modules it bundles. */
const BUNDLE = join(ROOT, "dist", "bundle", "palisade.cjs");
const COMPILED_CLI = join(ROOT, "dist", "src", "cli", "index.js");
/** The warm code caches runs write (bin/codeCache.cjs); without them a start reads the one the build trained. */
const WARM_CODE_CACHES = join(ROOT, "dist", "bundle", "cache");
/** The heaviest packages on the path to the first answer, by the name their figure is printed under. */
const HEAVY_MODULES: Readonly<Record<string, string>> = {
  tokenizerO200k: "gpt-tokenizer/encoding/o200k_base",
  serviceBus: "@azure/service-bus",
  dataTables: "@azure/data-tables",
  keyVaultSecrets: "@azure/keyvault-secrets",
  openai: "openai",
  zod: "zod",
  azureFunctions: "@azure/functions",
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number): number => Math.round(value);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function firstLine(stream: Readable, what: string, timeoutInMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${what}: no ready line within ${timeoutInMs} ms`)), timeoutInMs);
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      resolve(buffered.slice(0, newline));
    });
  });
}

async function startStack(directory: string): Promise<{ child: Child; ready: StackServerReady }> {
  const script = join(ROOT, "dist", "bench", "support", "stackServer.js");
  if (!existsSync(script)) throw new Error(`${script} is missing: run the bench from the build (npm run bench)`);
  const child = spawn(process.execPath, [script, directory], { stdio: ["pipe", "pipe", "pipe"] });
  child.stderr.resume();
  return { child, ready: JSON.parse(await firstLine(child.stdout, "the stack child", 60_000)) as StackServerReady };
}

function runCli(args: readonly string[], environment: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: environment, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString("utf8")));
    child.once("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`palisade ${args.join(" ")} failed: ${stderr.slice(-1000)}`))));
  });
}

interface StartResult {
  readonly first200Ms: number;
  readonly first200CpuMs: number;
  readonly listenMs: number;
  readonly rssAtFirst200Mb: number;
  /** RSS and its peak SETTLE_MS after the first 200 (the token encodings load 1 s after start-up). */
  readonly rssSettledMb: number;
  readonly rssPeakSettledMb: number;
}

const SETTLE_MS = 2_500;

/** Spawns one instance and polls with the harness's request until a 200 (30 s at most). */
async function startOnce(environment: NodeJS.ProcessEnv, apiKey: string, options: { nodeArgs?: readonly string[]; entry?: string } = {}): Promise<StartResult> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/api/v1/chat/completions`;
  const startedAt = performance.now();
  const args = ["--heap-growing-percent=50", ...(options.nodeArgs ?? []), options.entry ?? CLI, "host", "--port", String(port)];
  const child = spawn(process.execPath, args, { env: environment, stdio: ["pipe", "ignore", "ignore"] });
  // When the first request that found the port open was sent (the poll's resolution: 10 ms).
  let listenMs = Number.NaN;
  try {
    while (performance.now() - startedAt < 30_000) {
      if (child.exitCode !== null) throw new Error(`palisade host exited with ${String(child.exitCode)} before answering`);
      const sentAt = performance.now() - startedAt;
      try {
        const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }, body: REQUEST_BODY, signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        if (Number.isNaN(listenMs)) listenMs = sentAt;
        if (response.status === 200 && child.pid !== undefined) {
          const first200Ms = performance.now() - startedAt;
          const atFirst200 = sampleProcess(child.pid);
          await sleep(SETTLE_MS);
          const settled = sampleProcess(child.pid);
          return { first200Ms, first200CpuMs: atFirst200.cpuMicros / 1000, listenMs, rssAtFirst200Mb: atFirst200.rssMb, rssSettledMb: settled.rssMb, rssPeakSettledMb: settled.rssPeakMb };
        }
      } catch {
        // Not listening yet.
      }
      await sleep(10);
    }
    throw new Error("palisade host did not answer 200 within 30 s");
  } finally {
    await stopChild(child);
  }
}

/** CPU milliseconds to import one package in a fresh process. */
function importCpuMs(specifier: string): Promise<number> {
  const script = `const before = process.cpuUsage(); await import(${JSON.stringify(specifier)}); const used = process.cpuUsage(before); process.stdout.write(String((used.user + used.system) / 1000));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")));
    child.once("exit", (code) => (code === 0 ? resolve(Number(stdout)) : reject(new Error(`importing ${specifier} failed`))));
  });
}

export async function runColdStartBench(options: { quick: boolean; cpuProfileDirectory?: string | null; log?: (line: string) => void }): Promise<Record<string, number>> {
  const log = options.log ?? (() => undefined);
  const runs = options.quick ? 3 : 7;
  const directory = await mkdtemp(join(tmpdir(), "palisade-coldstart-"));
  const mock = await startMockOpenAi({ port: 0 });
  let stack: { child: Child; ready: StackServerReady } | null = null;
  try {
    stack = await startStack(directory);
    const policyPath = join(directory, "policy.json");
    await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, true)));
    const environment: NodeJS.ProcessEnv = { ...process.env, ...stack.ready.environment, PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error" };
    // As palisade-host.sh does: the client's variables must not reach the gateway's upstream client.
    delete environment.OPENAI_BASE_URL;
    delete environment.OPENAI_API_KEY;
    const apiKey = (await runCli(["keys", "create", "--project", "bench", "--service-account", "bench-app", "--expires-in", "1d"], environment)).trim();
    // The harness joins a stack whose first instance (npm start) created the tables: so does this.
    await startOnce(environment, apiKey);

    // What users run (bin/palisade.js: the bundle), alternated with the compiled modules unbundled.
    // Also alternated: the bundle as a first start after `npm run build` runs it (no warm cache yet: the
    // build's trained one), which is what a fresh deployment's first instance pays.
    const results: StartResult[] = [];
    const trained: StartResult[] = [];
    const unbundled: StartResult[] = [];
    const bundled = existsSync(BUNDLE);
    for (let run = 0; run < runs; run++) {
      const result = await startOnce(environment, apiKey);
      log(`cold start ${run + 1}/${runs}: first 200 after ${round(result.first200Ms)} ms (${round(result.first200CpuMs)} ms CPU, listening after ${round(result.listenMs)} ms)`);
      results.push(result);
      if (!bundled) continue;
      await rm(WARM_CODE_CACHES, { recursive: true, force: true });
      trained.push(await startOnce(environment, apiKey));
      unbundled.push(await startOnce(environment, apiKey, { entry: COMPILED_CLI }));
    }

    const traceFile = join(directory, "startup-trace.json");
    // With --cpu-prof=DIR, this start also writes a CPU profile (until it is stopped, after the first 200).
    const profile = options.cpuProfileDirectory ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDirectory}`] : [];
    await startOnce({ ...environment, PALISADE_STARTUP_TRACE_FILE: traceFile }, apiKey, { nodeArgs: [...profile, `--import=${join(ROOT, "dist", "bench", "support", "startupTrace.js")}`] });
    const trace = JSON.parse(await readFile(traceFile, "utf8")) as StartupTrace;
    const breakdown: Record<string, number> = {
      "breakdown.nodeStartMs": trace.preloadMs,
      "breakdown.toListeningMs": trace.listeningMs,
      "breakdown.toListeningCpuMs": trace.listeningCpuMs,
      "breakdown.firstRequestArrivedMs": trace.firstRequestMs,
      "breakdown.firstAnswerMs": trace.firstAnswerMs,
      "breakdown.firstAnswerCpuMs": trace.firstAnswerCpuMs,
      "breakdown.firstRequestMs": Math.round((trace.firstAnswerMs - trace.firstRequestMs) * 10) / 10,
    };
    for (const [kind, entry] of Object.entries(trace.calls)) {
      breakdown[`breakdown.calls.${kind}`] = entry.calls;
      breakdown[`breakdown.calls.${kind}Ms`] = entry.ms;
    }

    const modules: Record<string, number> = {};
    for (const [name, specifier] of Object.entries(HEAVY_MODULES)) {
      const samples: number[] = [];
      for (let run = 0; run < (options.quick ? 1 : 3); run++) samples.push(await importCpuMs(specifier));
      modules[`modules.${name}CpuMs`] = round(median(samples));
    }

    const medianOf = (of: readonly StartResult[], key: keyof StartResult): number => round(median(of.map((result) => result[key])));
    const summary = (of: readonly StartResult[]): Record<string, number> => ({
      first200Ms: medianOf(of, "first200Ms"),
      first200MinMs: round(Math.min(...of.map((result) => result.first200Ms))),
      first200CpuMs: medianOf(of, "first200CpuMs"),
      listenMs: medianOf(of, "listenMs"),
      rssAtFirst200Mb: medianOf(of, "rssAtFirst200Mb"),
      rssSettledMb: medianOf(of, "rssSettledMb"),
      rssPeakSettledMb: medianOf(of, "rssPeakSettledMb"),
    });
    return {
      ...summary(results),
      ...Object.fromEntries(Object.entries(trained.length > 0 ? summary(trained) : {}).map(([key, value]) => [`trainedCache.${key}`, value])),
      ...Object.fromEntries(Object.entries(unbundled.length > 0 ? summary(unbundled) : {}).map(([key, value]) => [`unbundled.${key}`, value])),
      runs,
      ...breakdown,
      ...modules,
    };
  } finally {
    if (stack) {
      stack.child.stdin.end();
      await stopChild(stack.child);
    }
    await mock.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
