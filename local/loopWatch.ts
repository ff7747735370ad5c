import { PerformanceObserver, monitorEventLoopDelay } from "node:perf_hooks";

/** What a thread's event loop and garbage collector did since the last read. */
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
 * Watches the calling thread's event loop (perf_hooks' monitorEventLoopDelay) and its isolate's garbage
 * collections (a `gc` PerformanceObserver; in a worker thread, that worker's own heap). `read()`
 * answers what happened since the last read and resets.
 */
export function watchLoop(): { read(): LoopDiagnostics; close(): void } {
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
  const ms = (nanos: number): number => Number((nanos / 1e6).toFixed(3));
  return {
    read() {
      const diagnostics: LoopDiagnostics = {
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
      return diagnostics;
    },
    close() {
      delay.disable();
      observer.disconnect();
    },
  };
}
