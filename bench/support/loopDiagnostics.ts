import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { type LoopDiagnostics as ThreadLoopDiagnostics, watchLoop } from "../../local/loopWatch.js";
import { type CpuStretchSummary } from "./cpuStretches.js";
import { type StageSummary } from "./stageTimings.js";

/** What a bench child's event loop and garbage collector did since the last read. */
export interface LoopDiagnostics extends ThreadLoopDiagnostics {
  /** Per-stage round-trip timings (bench/support/stageTimings.ts), where the child times them. */
  readonly stages?: Readonly<Record<string, StageSummary>>;
  /** The late turns of the loop, own CPU or preempted (bench/support/cpuStretches.ts), where the child watches them. */
  readonly cpuStretches?: CpuStretchSummary;
  /** Per thread, where the child runs several (the stack's emulator threads); the top-level figures are then the worst (max) or the sum (GC ms, counts). */
  readonly threads?: Readonly<Record<string, ThreadLoopDiagnostics>>;
}

/**
 * Watches the process's event loop and garbage collections (local/loopWatch.ts) and serves what it saw
 * since the last read at `GET /` on a port of its own (a read resets it), so the bench can say, per
 * scenario, whether the tail came from a blocked loop or GC. `more` adds to each read (stage timings,
 * other threads' figures).
 */
export async function serveLoopDiagnostics(
  more: (own: ThreadLoopDiagnostics) => Promise<LoopDiagnostics> | LoopDiagnostics = (own) => own,
): Promise<{ readonly url: string; close(): void }> {
  const watch = watchLoop();
  const server = createServer((_request, response) => {
    void Promise.resolve(more(watch.read())).then(
      (body) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
      (error: unknown) => response.writeHead(500).end(error instanceof Error ? error.message : "diagnostics failed"),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close() {
      watch.close();
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

/** Reads (and resets) a child's diagnostics; null when it serves none. */
export async function readLoopDiagnostics(url: string | undefined): Promise<LoopDiagnostics | null> {
  if (url === undefined) return null;
  const response = await fetch(url);
  return (await response.json()) as LoopDiagnostics;
}
