import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { type LoopDiagnostics as ThreadLoopDiagnostics, watchLoop } from "../../local/loopWatch.js";
import { type CpuStretchSummary } from "./cpuStretches.js";
import { type HeapFigures } from "./heapWatch.js";
import { type StageSpan, type StageSummary } from "./stageTimings.js";

/** What a bench child's event loop and garbage collector did since the last read. */
export interface LoopDiagnostics extends ThreadLoopDiagnostics {
  /** Per-stage round-trip timings (bench/support/stageTimings.ts), where the child times them. */
  readonly stages?: Readonly<Record<string, StageSummary>>;
  /** With PALISADE_BENCH_TRACE=1: each timed call's window (bench/support/tailTrace.ts). */
  readonly spans?: readonly StageSpan[];
  /** The late turns of the loop, own CPU or preempted (bench/support/cpuStretches.ts), where the child watches them. */
  readonly cpuStretches?: CpuStretchSummary;
  /** Per thread, where the child runs several (the stack's emulator threads); the top-level figures are then the worst (max) or the sum (GC ms, counts). */
  readonly threads?: Readonly<Record<string, ThreadLoopDiagnostics>>;
  /** With PALISADE_BENCH_HEAP=1: the main isolate's allocation and promotion (bench/support/heapWatch.ts). */
  readonly heap?: HeapFigures;
}

/** Something that watches the process while it runs (a timer or a monitor), read and reset by `read()`. */
export interface Watch<T> {
  read(): T;
  close(): void;
}

/** What the diagnostics server answers while nothing is watched: no delay, no GC seen. */
const UNWATCHED: ThreadLoopDiagnostics = { loopDelayP50Ms: 0, loopDelayP99Ms: 0, loopDelayMaxMs: 0, gcCount: 0, gcMs: 0, gcMajorCount: 0, gcMajorMs: 0, gcMaxMs: 0 };

/**
 * Watches the process's event loop and garbage collections (local/loopWatch.ts) and serves what it saw
 * since the last read at `GET /` on a port of its own (a read resets it), so the bench can say, per
 * scenario, whether the tail came from a blocked loop or GC. `more` adds to each read (stage timings,
 * other threads' figures).
 *
 * The watch is the bench's, not the instance's: its 10 ms monitor wakes the process ~100 times a second,
 * which the instance's /proc CPU would count. `GET /?watch=off` answers what was seen and stops it (and
 * tells `onWatching`, so a child can stop its own watchers too) until `GET /?watch=on`: the bench turns
 * it off where it measures the instance's CPU at rest or at a low rate.
 */
export async function serveLoopDiagnostics(
  more: (own: ThreadLoopDiagnostics) => Promise<LoopDiagnostics> | LoopDiagnostics = (own) => own,
  options: { readonly startWatch?: () => Watch<ThreadLoopDiagnostics>; readonly onWatching?: (watching: boolean) => void } = {},
): Promise<{ readonly url: string; close(): void }> {
  const startWatch = options.startWatch ?? watchLoop;
  let watch: Watch<ThreadLoopDiagnostics> | null = startWatch();
  const server = createServer((request, response) => {
    const wanted = new URL(request.url ?? "/", "http://diagnostics").searchParams.get("watch");
    // Read before any watcher stops: `more` reads the child's own watchers too.
    const body = Promise.resolve(more(watch?.read() ?? UNWATCHED));
    if (wanted === "off" && watch !== null) {
      watch.close();
      watch = null;
      options.onWatching?.(false);
    } else if (wanted === "on" && watch === null) {
      watch = startWatch();
      options.onWatching?.(true);
    }
    void body.then(
      (answer) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer)),
      (error: unknown) => response.writeHead(500).end(error instanceof Error ? error.message : "diagnostics failed"),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close() {
      watch?.close();
      watch = null;
      server.close();
    },
  };
}

/** The worst of several threads' figures: max of delays and pauses, sum of GC time and counts. */
export function worstOf(threads: Readonly<Record<string, ThreadLoopDiagnostics>>): LoopDiagnostics {
  const all = Object.values(threads);
  const max = (pick: (one: ThreadLoopDiagnostics) => number): number => Math.max(0, ...all.map(pick));
  const sum = (pick: (one: ThreadLoopDiagnostics) => number): number => Number(all.reduce((total, one) => total + pick(one), 0).toFixed(3));
  return {
    loopDelayP50Ms: max((one) => one.loopDelayP50Ms),
    loopDelayP99Ms: max((one) => one.loopDelayP99Ms),
    loopDelayMaxMs: max((one) => one.loopDelayMaxMs),
    gcCount: sum((one) => one.gcCount),
    gcMs: sum((one) => one.gcMs),
    gcMajorCount: sum((one) => one.gcMajorCount),
    gcMajorMs: sum((one) => one.gcMajorMs),
    gcMaxMs: max((one) => one.gcMaxMs),
    threads,
  };
}

/**
 * Reads (and resets) a child's diagnostics; null when it serves none. `watch`: "off" stops the child's
 * watchers after this read (the bench measures the child's own CPU), "on" starts them again.
 */
export async function readLoopDiagnostics(url: string | undefined, watch?: "on" | "off"): Promise<LoopDiagnostics | null> {
  if (url === undefined) return null;
  const response = await fetch(watch === undefined ? url : `${url}?watch=${watch}`);
  return (await response.json()) as LoopDiagnostics;
}
