import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** CPU time and memory of a process, from Linux's /proc (the bench runs on Linux). */
export interface ProcessSample {
  /** User + system CPU time, in microseconds. */
  readonly cpuMicros: number;
  /** Resident set size now, in MB. */
  readonly rssMb: number;
  /** Peak resident set size since the process started (VmHWM), in MB. */
  readonly rssPeakMb: number;
}

let ticksPerSecond: number | undefined;

function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return match?.[1] ? Number(match[1]) : 0;
}

export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses; the fields after its closing ")" do not.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 3 (state) is index 0, so utime (14) and stime (15) are indexes 11 and 12.
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    cpuMicros: (ticks * 1_000_000) / clockTicksPerSecond(),
    rssMb: statusKb(status, "VmRSS") / 1024,
    rssPeakMb: statusKb(status, "VmHWM") / 1024,
  };
}

/** Whether `taskset` can pin processes here (Linux with util-linux, and at least two cores). */
export function canPin(cores: number): boolean {
  if (cores < 2) return false;
  try {
    execFileSync("taskset", ["-c", "-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The CPU list a process (all its threads) may run on, e.g. "0,1" or "0-3". */
export function affinityOf(pid: number): string {
  const out = execFileSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8" });
  return out.slice(out.lastIndexOf(":") + 1).trim();
}

/** Pins every thread of a process to a CPU list. */
export function pin(pid: number, cpuList: string): void {
  execFileSync("taskset", ["-a", "-c", "-p", cpuList, String(pid)], { stdio: "ignore" });
}

/** CPU time (µs) of a process's main (JavaScript) thread and of all its other threads (V8 GC and compiler helpers, libuv's pool). */
export function sampleThreads(pid: number): { readonly mainMicros: number; readonly otherMicros: number } {
  let mainMicros = 0;
  let otherMicros = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const micros = ((Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 1_000_000) / clockTicksPerSecond();
      if (task === String(pid)) mainMicros += micros;
      else otherMicros += micros;
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return { mainMicros, otherMicros };
}

/**
 * CPU time (µs) of all a process's threads from their schedstat (nanoseconds of run time): finer than
 * /proc/<pid>/stat's clock ticks (10 ms), for short windows at rest or at a low rate.
 */
export function sampleCpuMicrosPrecise(pid: number): number {
  let nanos = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0] ?? 0);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return nanos / 1_000;
}
