import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { holdThroughOutage } from "../../../src/core/audit/holdThroughOutage.js";
import { silentLogger } from "../../../src/core/logger.js";

describe("holdThroughOutage", () => {
  it("retries with exponential back-off while the work fails, and returns its result once it succeeds", async () => {
    const clock = new ManualClock();
    const waits: number[] = [];
    let calls = 0;
    const result = await holdThroughOutage(
      async () => {
        calls += 1;
        if (calls < 5) throw new Error("Table Storage refused the connection");
        return "appended";
      },
      { clock, logger: silentLogger, wait: async (ms) => void (waits.push(ms), clock.advance(ms)) },
      { holdForInMs: 60_000, firstDelayInMs: 1_000, maxDelayInMs: 4_000 },
    );
    expect(result).toBe("appended");
    expect(waits).toEqual([1_000, 2_000, 4_000, 4_000]);
  });

  it("gives up after holdForInMs with the last error (the host then abandons the batch)", async () => {
    const clock = new ManualClock();
    const waits: number[] = [];
    const work = holdThroughOutage(
      async () => {
        clock.advance(500);
        throw new Error("still down");
      },
      { clock, logger: silentLogger, wait: async (ms) => void (waits.push(ms), clock.advance(ms)) },
      { holdForInMs: 5_000, firstDelayInMs: 1_000, maxDelayInMs: 30_000 },
    );
    await expect(work).rejects.toThrow("still down");
    // 500 + 1000 + 500 + 2000 + 500 = 4500: the last wait is cut to what is left of the hold.
    expect(waits).toEqual([1_000, 2_000, 500]);
  });
});
