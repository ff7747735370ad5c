import { afterEach, describe, expect, it, vi } from "vitest";
import { beforeEachMinute } from "../../src/composition/beforeEachMinute.js";

// Fake timers and a faked Date: the clock and the timer move together, nothing waits for real time.
const dateClock = { nowInMs: (): number => Date.now() };

afterEach(() => {
  vi.useRealTimers();
});

describe("beforeEachMinute", () => {
  it("runs the given lead before each minute boundary, once a minute", () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 7, 10, 0, 15) });
    const runs: string[] = [];
    const timer = beforeEachMinute(dateClock, 2_000, () => runs.push(new Date(Date.now()).toISOString()));
    vi.advanceTimersByTime(3 * 60_000);
    expect(runs).toEqual(["2026-12-07T10:00:58.000Z", "2026-12-07T10:01:58.000Z", "2026-12-07T10:02:58.000Z"]);
    timer.stop();
    vi.advanceTimersByTime(60_000);
    expect(runs).toHaveLength(3);
  });

  it("started inside the moment, waits for the next minute's", () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 7, 10, 0, 58, 500) });
    const runs: number[] = [];
    const timer = beforeEachMinute(dateClock, 2_000, () => runs.push(Date.now()));
    vi.advanceTimersByTime(61_000);
    expect(runs).toEqual([Date.UTC(2026, 11, 7, 10, 1, 58)]);
    timer.stop();
  });
});
