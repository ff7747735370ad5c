import { existsSync, readFileSync } from "node:fs";

/** What the loop's late turns were made of since the last read. */
export interface CpuStretchSummary {
  /** Gaps between two ticks of a 1 ms timer that were 10 ms or more of wall time. */
  readonly lateTurnsOver10Ms: number;
  /** Of those, the ones where this thread ran 10 ms or more of CPU in the gap: our own work held the loop. */
  readonly busyTurnsOver10Ms: number;
  /** Of those, the ones where it ran under half the gap: it waited for a core (preempted) or in GC threads, not in its own JS. */
  readonly preemptedTurnsOver10Ms: number;
  readonly busyMaxMs: number;
  /** The longest busy gaps: [start, end] on the machine's monotonic clock (µs, as a V8 CPU profile's) and the CPU run, ms. */
  readonly longest: readonly { readonly fromUs: number; readonly toUs: number; readonly cpuMs: number }[];
}

const SCHEDSTAT = "/proc/thread-self/schedstat";

/**
 * Bench only: tells a late event loop's own work apart from a machine that gave it no core. A 1 ms
 * timer reads this thread's CPU time (schedstat) at each tick; a gap of 10 ms or more between ticks is
 * a late turn, busy when the thread ran most of it. The longest busy gaps keep their monotonic-clock
 * window, so `profileStretches.js --window=` on a CPU profile of the same run says what ran. Costs a
 * file read per tick (~1,000 a second). Linux only; elsewhere null.
 */
export function watchCpuStretches(): { read(): CpuStretchSummary; close(): void } | null {
  if (!existsSync(SCHEDSTAT)) return null;
  const cpuNs = (): bigint => BigInt(readFileSync(SCHEDSTAT, "utf8").split(" ")[0] ?? "0");
  let lastWall = process.hrtime.bigint();
  let lastCpu = cpuNs();
  let late = 0;
  let busy = 0;
  let preempted = 0;
  let busyMaxMs = 0;
  let longest: { fromUs: number; toUs: number; cpuMs: number }[] = [];
  const timer = setInterval(() => {
    const wall = process.hrtime.bigint();
    const cpu = cpuNs();
    const wallMs = Number(wall - lastWall) / 1e6;
    const cpuMs = Number(cpu - lastCpu) / 1e6;
    if (wallMs >= 10) {
      late++;
      if (cpuMs >= 10) {
        busy++;
        busyMaxMs = Math.max(busyMaxMs, cpuMs);
        longest.push({ fromUs: Number(lastWall / 1_000n), toUs: Number(wall / 1_000n), cpuMs: Number(cpuMs.toFixed(2)) });
        longest = longest.sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5);
      } else if (cpuMs < wallMs / 2) preempted++;
    }
    lastWall = wall;
    lastCpu = cpu;
  }, 1);
  timer.unref();
  return {
    read() {
      const summary = { lateTurnsOver10Ms: late, busyTurnsOver10Ms: busy, preemptedTurnsOver10Ms: preempted, busyMaxMs: Number(busyMaxMs.toFixed(2)), longest };
      late = busy = preempted = busyMaxMs = 0;
      longest = [];
      return summary;
    },
    close() {
      clearInterval(timer);
    },
  };
}
