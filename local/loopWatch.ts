import { existsSync, readFileSync } from "node:fs";
import { PerformanceObserver, monitorEventLoopDelay, performance } from "node:perf_hooks";

/**
 * One pause of a thread, on the machine's monotonic clock in µs (process.hrtime, the same in every
 * process and thread, as a V8 CPU profile's timestamps): a garbage collection, or a late turn of the
 * loop (a 1 ms timer that fired `toUs - fromUs` apart) with the CPU this thread ran in it.
 */
export interface LoopPause {
  readonly kind: "gc" | "late";
  /** GC only: a mark-compact (major), not a scavenge. */
  readonly major?: boolean;
  readonly fromUs: number;
  readonly toUs: number;
  /** Late turns: this thread's CPU in the gap (schedstat), ms; near the gap: its own work, near 0: no core. */
  readonly cpuMs?: number;
}

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
  /** With `PALISADE_LOOP_TRACE=1` (bench only): each GC ≥ 0.5 ms and each late turn ≥ 3 ms since the last read, in time order. */
  readonly pauses?: readonly LoopPause[];
  /**
   * With `PALISADE_LOOP_TRACE=1`: the thread's clock at each tick of the 1 ms timer, as flat triples
   * [monotonic µs, CPU run so far µs, time runnable but waiting for a core so far µs] (schedstat), so a
   * window's own CPU and its wait for a core can be read off.
   */
  readonly cpuSeries?: readonly number[];
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
  const trace = process.env.PALISADE_LOOP_TRACE === "1" ? tracePauses() : null;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      trace?.gc(entry.startTime, entry.duration, kind === GC_MAJOR);
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
        ...(trace ? trace.read() : {}),
      };
      delay.reset();
      gc = { count: 0, ms: 0, majorCount: 0, majorMs: 0, maxMs: 0 };
      return diagnostics;
    },
    close() {
      delay.disable();
      observer.disconnect();
      trace?.close();
    },
  };
}

/** The most pauses kept between two reads (a read every scenario; ~20 a second at most in practice). */
const MAX_PAUSES = 20_000;

/**
 * Bench only (PALISADE_LOOP_TRACE=1): every GC ≥ 0.5 ms and every late turn ≥ 3 ms of the calling
 * thread, with its window on the monotonic clock, so a slow request can be matched with what held the
 * thread it waited on (bench/support/tailTrace.ts). A 1 ms timer reads the thread's CPU from
 * /proc/thread-self/schedstat at each tick: ~1,000 wake-ups a second, a cost the plain watch does not have.
 */
function tracePauses(): { gc(startMs: number, durationMs: number, major: boolean): void; read(): { pauses: LoopPause[]; cpuSeries: number[] }; close(): void } {
  const schedstat = "/proc/thread-self/schedstat";
  const canReadCpu = existsSync(schedstat);
  // schedstat: ns on a core, ns runnable but waiting for one, timeslices.
  let waitNs = 0n;
  const cpuNs = (): bigint => {
    if (!canReadCpu) return 0n;
    const [run, wait] = readFileSync(schedstat, "utf8").split(" ");
    waitNs = BigInt(wait ?? "0");
    return BigInt(run ?? "0");
  };
  let cpuSeries: number[] = [];
  const nowUs = (): number => Number(process.hrtime.bigint() / 1_000n);
  // performance.now() (a GC entry's startTime) to the monotonic clock.
  const offsetUs = nowUs() - performance.now() * 1_000;
  let pauses: LoopPause[] = [];
  const keep = (pause: LoopPause): void => void (pauses.length < MAX_PAUSES && pauses.push(pause));
  let lastUs = nowUs();
  let lastCpu = cpuNs();
  const timer = setInterval(() => {
    const at = nowUs();
    const cpu = cpuNs();
    if (at - lastUs >= 3_000) keep({ kind: "late", fromUs: lastUs, toUs: at, cpuMs: Number((Number(cpu - lastCpu) / 1e6).toFixed(2)) });
    if (cpuSeries.length < MAX_PAUSES * 30) cpuSeries.push(at, Number(cpu / 1_000n), Number(waitNs / 1_000n));
    lastUs = at;
    lastCpu = cpu;
  }, 1);
  timer.unref();
  return {
    gc(startMs, durationMs, major) {
      if (durationMs < 0.5) return;
      const fromUs = Math.round(offsetUs + startMs * 1_000);
      keep({ kind: "gc", fromUs, toUs: fromUs + Math.round(durationMs * 1_000), ...(major ? { major } : {}) });
    },
    read() {
      const all = { pauses: pauses.sort((a, b) => a.fromUs - b.fromUs), cpuSeries };
      pauses = [];
      cpuSeries = [];
      return all;
    },
    close() {
      clearInterval(timer);
    },
  };
}
