import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sampleCpuMicrosPrecise, sampleProcess } from "../../bench/support/procStats.js";

const linux = existsSync("/proc/self/task");

describe.runIf(linux)("sampleCpuMicrosPrecise (the bench's CPU at rest and at 20 req/s)", () => {
  it("sees a few milliseconds of this process's CPU that /proc/<pid>/stat's 10 ms ticks cannot tell apart", async () => {
    // A thread's schedstat is brought up to date when it is scheduled out: read after a short sleep, as
    // the bench reads an instance that is waiting on its sockets.
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
    const spin = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // Busy: this thread's CPU time grows with the wall time.
      }
    };
    const deltas: number[] = [];
    for (let round = 0; round < 5; round++) {
      await settle();
      const before = sampleCpuMicrosPrecise(process.pid);
      spin(3);
      await settle();
      deltas.push(sampleCpuMicrosPrecise(process.pid) - before);
    }
    // Each 3 ms spin reads as about 3 ms (preemption can only shorten it; the reads add a little).
    for (const delta of deltas) expect(delta).toBeGreaterThan(500);
    expect(Math.min(...deltas)).toBeLessThan(20_000);
    // Ticks read a 3 ms spin as 0 or 10 ms: never between.
    const ticks = sampleProcess(process.pid).cpuMicros;
    expect(ticks % 10_000).toBe(0);
  });
});
