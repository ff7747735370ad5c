import { type CpuStretchSummary } from "./cpuStretches.js";
import { type LoadResult } from "./load.js";
import { type LoopDiagnostics } from "./loopDiagnostics.js";

type Results = Record<string, number>;
type StageTimings = NonNullable<LoopDiagnostics["stages"]>;

/** A loop's delay, its longest GC and its late turns (busy or preempted), under `prefix.`. */
export function recordLoop(results: Results, prefix: string, loop: LoopDiagnostics): void {
  results[`${prefix}.loopDelayP99Ms`] = loop.loopDelayP99Ms;
  results[`${prefix}.loopDelayMaxMs`] = loop.loopDelayMaxMs;
  results[`${prefix}.gcMaxMs`] = loop.gcMaxMs;
  const turns = loop.cpuStretches;
  if (!turns) return;
  results[`${prefix}.lateTurnsOver10Ms`] = turns.lateTurnsOver10Ms;
  results[`${prefix}.busyTurnsOver10Ms`] = turns.busyTurnsOver10Ms;
  results[`${prefix}.preemptedTurnsOver10Ms`] = turns.preemptedTurnsOver10Ms;
  results[`${prefix}.busyTurnMaxMs`] = turns.busyMaxMs;
}

/** The stack's loop and GC, and each emulator thread's, during a scenario: a round trip waits behind them. */
export function recordStackLoop(results: Results, prefix: string, stackLoop: LoopDiagnostics): void {
  results[`${prefix}.stackLoopDelayP99Ms`] = stackLoop.loopDelayP99Ms;
  results[`${prefix}.stackLoopDelayMaxMs`] = stackLoop.loopDelayMaxMs;
  results[`${prefix}.stackGcMaxMs`] = stackLoop.gcMaxMs;
  results[`${prefix}.stackGcMs`] = stackLoop.gcMs;
  for (const [thread, figures] of Object.entries(stackLoop.threads ?? {})) {
    results[`${prefix}.stackThreads.${thread}.loopDelayMaxMs`] = figures.loopDelayMaxMs;
    results[`${prefix}.stackThreads.${thread}.gcMaxMs`] = figures.gcMaxMs;
  }
}

/** Per-stage round-trip timings (PALISADE_BENCH_STAGES=1): p50 and p99, or also the max and the count ≥ 10 ms. */
export function recordStages(results: Results, prefix: string, stages: StageTimings, detail: "p50-p99" | "all"): void {
  for (const [stage, timing] of Object.entries(stages)) {
    results[`${prefix}.stage.${stage}.p50Ms`] = timing.p50Ms;
    results[`${prefix}.stage.${stage}.p99Ms`] = timing.p99Ms;
    if (detail === "p50-p99") continue;
    results[`${prefix}.stage.${stage}.maxMs`] = timing.maxMs;
    results[`${prefix}.stage.${stage}.over10Ms`] = timing.over10Ms;
  }
}

export function lateTurnsLine(prefix: string, turns: CpuStretchSummary): string {
  return (
    `deployed bench: ${prefix}: the instance's loop late ≥ 10 ms ${turns.lateTurnsOver10Ms} times: ${turns.busyTurnsOver10Ms} running its own work (max ${turns.busyMaxMs} ms of CPU), ` +
    `${turns.preemptedTurnsOver10Ms} mostly without a core; the longest (monotonic µs, for profileStretches --window=): ` +
    turns.longest.map((turn) => `${turn.fromUs}-${turn.toUs} ${turn.cpuMs} ms`).join(", ")
  );
}

export interface ScenarioFigures {
  readonly prefix: string;
  readonly viaGateway: LoadResult;
  readonly viaDirect: LoadResult;
  readonly results: Readonly<Results>;
  readonly caughtUp: boolean;
  readonly loop: LoopDiagnostics | null;
  readonly stackLoop: LoopDiagnostics | null;
  readonly operations: Readonly<Record<string, number>>;
  readonly stages: StageTimings;
}

/** One scenario's summary line on stderr. */
export function scenarioLine({ prefix, viaGateway, viaDirect, results, caughtUp, loop, stackLoop, operations, stages }: ScenarioFigures): string {
  return (
    `deployed bench: ${prefix}: ${viaGateway.requestsPerSecond.toFixed(0)} req/s, over direct p50 +${(viaGateway.p50Ms - viaDirect.p50Ms).toFixed(2)} ` +
    `p99 +${(viaGateway.p99Ms - viaDirect.p99Ms).toFixed(2)} ms; instance ${results[`${prefix}.instanceCpuMicrosPerRequest`]} µs/request ` +
    `(appends included${caughtUp ? "" : ", queue NOT drained"}), stack ${results[`${prefix}.stackCpuMicrosPerRequest`]} µs/request; ` +
    `main thread ${results[`${prefix}.instanceMainThreadMicrosPerRequest`]} µs/request; ` +
    (loop ? `loop delay p99 ${loop.loopDelayP99Ms} max ${loop.loopDelayMaxMs} ms, GC ${loop.gcCount} (${loop.gcMajorCount} major) ${loop.gcMs.toFixed(1)} ms max ${loop.gcMaxMs.toFixed(1)} ms; ` : "") +
    `round trips/request ${Object.entries(operations).map(([kind, value]) => `${kind} ${value.toFixed(2)}`).join(", ")}; ${viaGateway.failures} failures` +
    (stackLoop ? `; stack loop delay p99 ${stackLoop.loopDelayP99Ms} max ${stackLoop.loopDelayMaxMs} ms, GC ${stackLoop.gcMs.toFixed(1)} ms max ${stackLoop.gcMaxMs.toFixed(1)} ms` : "") +
    Object.entries(stackLoop?.threads ?? {})
      .map(([thread, figures]) => ` (${thread}: loop max ${figures.loopDelayMaxMs}, GC max ${figures.gcMaxMs.toFixed(1)} ms)`)
      .join("") +
    Object.entries(stages)
      .map(([stage, timing]) => `; ${stage} p50 ${timing.p50Ms} p99 ${timing.p99Ms} max ${timing.maxMs} ms (${timing.over10Ms}/${timing.count} ≥ 10 ms)`)
      .join("")
  );
}
