import { appendFileSync } from "node:fs";
import { getAppServices } from "../../src/composition/appServices.js";
import { startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";
import { type BenchChildReady, serveUntilStopped } from "./benchChild.js";
import { sampleAllocations, watchHeap } from "./heapWatch.js";
import { type LoopDiagnostics, serveLoopDiagnostics } from "./loopDiagnostics.js";
import { timeFunctions, timeStages } from "./stageTimings.js";
import { watchCpuStretches } from "./cpuStretches.js";

/**
 * The gateway alone in its own process, for the benchmark: the local Functions host serving the
 * compiled function definitions, with the app's services built from the environment the parent
 * passes (the local stack's settings and PALISADE_POLICY). Azurite, the emulators and the mock
 * upstream stay in the parent, so this process's CPU time and RSS are the gateway's own.
 *
 * Prints ONE JSON line on stdout once it serves: `{"url","pid","apiKey"}`. Stops on SIGTERM or
 * when stdin closes (the parent died).
 */

export type GatewayServerReady = BenchChildReady;

async function main(): Promise<void> {
  const project = process.env.PALISADE_BENCH_PROJECT ?? "bench";
  const serviceAccount = process.env.PALISADE_BENCH_SERVICE_ACCOUNT ?? "bench-app";
  // PALISADE_BENCH_STAGES=1: each round trip of a request timed (publishes, upstream, limits), served with the diagnostics.
  // PALISADE_BENCH_TRACE=1 (with it): each call's window and each function invocation's too, and the loop's pauses (bench/support/tailTrace.ts).
  const trace = process.env.PALISADE_BENCH_TRACE === "1";
  const stages = process.env.PALISADE_BENCH_STAGES === "1" || trace ? timeStages(trace) : undefined;
  const services = await getAppServices();
  const { apiKey } = await services.apiKeys.create({ project, serviceAccount, expiresInMs: 3_600_000 });
  // PALISADE_BENCH_DEPLOYED=1: the instance as Azure and `npm start` run it, also consuming the audit
  // queue (appending to the chain) and running its timers (bench/deployed.ts).
  const deployed = process.env.PALISADE_BENCH_DEPLOYED === "1";
  // PALISADE_BENCH_HOST_LOG=FILE: the host's own log lines (trigger failures, invocations) go there, for diagnosis.
  const hostLog = process.env.PALISADE_BENCH_HOST_LOG;
  const log = hostLog ? (line: string) => appendFileSync(hostLog, `${line}\n`) : () => undefined;
  const definitions = await loadFunctionDefinitions();
  if (trace && stages) timeFunctions(definitions, stages);
  const host = await startLocalHost({ definitions, log, runTimers: deployed, runServiceBusTriggers: deployed });

  // With the stage timings, the loop's late turns told apart: our own CPU or a machine with no core for us.
  // Its 1 ms timer stops with the loop watch when the bench measures this process's own CPU (`?watch=off`).
  // Traced, the loop watch's own 1 ms timer tells the late turns (local/loopWatch.ts), so no second one.
  let stretches = stages && !trace ? watchCpuStretches() : null;
  // PALISADE_BENCH_HEAP=1: the main isolate's allocation and promotion since the last read; PALISADE_BENCH_HEAP_PROFILE=FILE:
  // a sampling profile of every allocation written there at each read (bench/support/allocPerRequest.ts).
  const heap = process.env.PALISADE_BENCH_HEAP === "1" ? watchHeap() : null;
  const heapProfileFile = process.env.PALISADE_BENCH_HEAP_PROFILE;
  const heapProfile = heapProfileFile ? sampleAllocations(heapProfileFile) : null;
  const withStages = (own: LoopDiagnostics): LoopDiagnostics =>
    stages ? { ...own, stages: stages.read(), ...(trace ? { spans: stages.readSpans() } : {}), ...(stretches ? { cpuStretches: stretches.read() } : {}) } : own;
  const diagnostics = await serveLoopDiagnostics(async (own) => {
    await heapProfile?.read();
    return heap ? { ...withStages(own), heap: heap.read() } : withStages(own);
  }, {
    onWatching(watching) {
      stretches?.close();
      stretches = watching && stages && !trace ? watchCpuStretches() : null;
    },
  });

  serveUntilStopped({ url: host.url, pid: process.pid, apiKey, diagnosticsUrl: diagnostics.url }, async () => {
    diagnostics.close();
    stretches?.close();
    heap?.close();
    heapProfile?.close();
    await host.stop().catch(() => undefined);
    await services.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
