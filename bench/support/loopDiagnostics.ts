import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { PerformanceObserver, monitorEventLoopDelay } from "node:perf_hooks";

/** What a bench child's event loop and garbage collector did since the last read. */
export interface LoopDiagnostics {
  /** Event-loop delay (how late a 10 ms-resolution timer fired), ms. */
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Garbage collections and their summed pause, ms, by kind (minor = scavenge, major = mark-compact). */
  readonly gcCount: number;
  readonly gcMs: number;
  readonly gcMajorCount: number;
  readonly gcMajorMs: number;
  readonly gcMaxMs: number;
}

/** V8's `kind` of a `gc` performance entry for a mark-compact (NODE_PERFORMANCE_GC_MAJOR). */
const GC_MAJOR = 4;

/**
 * Watches the process's event loop (perf_hooks' monitorEventLoopDelay) and garbage collections (a `gc`
 * PerformanceObserver), and serves what it saw since the last read at `GET /` on a port of its own (a
 * read resets it), so the bench can say, per scenario, whether the tail came from a blocked loop or GC.
 */
export async function serveLoopDiagnostics(): Promise<{ readonly url: string; close(): void }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let gc = { count: 0, ms: 0, majorCount: 0, majorMs: 0, maxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      gc.count += 1;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if (kind === GC_MAJOR) {
        gc.majorCount += 1;
        gc.majorMs += entry.duration;
      }
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const server = createServer((_request, response) => {
    const ms = (nanos: number): number => Number((nanos / 1e6).toFixed(3));
    const body: LoopDiagnostics = {
      loopDelayP50Ms: ms(delay.percentile(50)),
      loopDelayP99Ms: ms(delay.percentile(99)),
      loopDelayMaxMs: ms(delay.max),
      gcCount: gc.count,
      gcMs: Number(gc.ms.toFixed(3)),
      gcMajorCount: gc.majorCount,
      gcMajorMs: Number(gc.majorMs.toFixed(3)),
      gcMaxMs: Number(gc.maxMs.toFixed(3)),
    };
    delay.reset();
    gc = { count: 0, ms: 0, majorCount: 0, majorMs: 0, maxMs: 0 };
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close() {
      delay.disable();
      observer.disconnect();
      server.close();
    },
  };
}

/** Reads (and resets) a child's diagnostics; null when it serves none. */
export async function readLoopDiagnostics(url: string | undefined): Promise<LoopDiagnostics | null> {
  if (url === undefined) return null;
  const response = await fetch(url);
  return (await response.json()) as LoopDiagnostics;
}
