import { describe, expect, it } from "vitest";
import { formatResetDuration, rateLimitHeaders } from "../../../src/core/limits/rateLimitHeaders.js";
import { msUntilNextDay, msUntilNextMinute, msUntilNextMonth, windowsAt } from "../../../src/core/limits/windows.js";

describe("UTC windows", () => {
  it("keys minute windows by floor(epoch / 60 s), and days and months in UTC", () => {
    const at = Date.UTC(2026, 0, 31, 23, 59, 59, 999);
    expect(windowsAt(at)).toEqual({ minute: Math.floor(at / 60_000), day: "2026-01-31", month: "2026-01" });
    expect(windowsAt(at + 1)).toEqual({ minute: Math.floor(at / 60_000) + 1, day: "2026-02-01", month: "2026-02" });
  });

  it("gives every instant of a minute the same windows, and the next minute its own (remembered per minute)", () => {
    const start = Date.UTC(2026, 5, 30, 23, 59, 0);
    const first = windowsAt(start);
    expect(windowsAt(start + 59_999)).toBe(first);
    expect(windowsAt(start + 60_000)).toEqual({ minute: first.minute + 1, day: "2026-07-01", month: "2026-07" });
    // Back to an earlier minute (another clock, a test): computed again, not the last one's.
    expect(windowsAt(start)).toEqual({ minute: first.minute, day: "2026-06-30", month: "2026-06" });
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("says how long until each window ends", () => {
    const at = Date.UTC(2026, 1, 28, 23, 59, 30);
    expect(msUntilNextMinute(at)).toBe(30_000);
    expect(msUntilNextMinute(Date.UTC(2026, 0, 1))).toBe(60_000);
    expect(msUntilNextDay(at)).toBe(30_000);
    expect(msUntilNextMonth(at)).toBe(30_000);
    expect(msUntilNextMonth(Date.UTC(2026, 11, 15))).toBe(Date.UTC(2027, 0, 1) - Date.UTC(2026, 11, 15));
  });
});

describe("rate-limit headers", () => {
  it("formats resets as OpenAI does", () => {
    expect(formatResetDuration(250)).toBe("250ms");
    expect(formatResetDuration(12_001)).toBe("13s");
    expect(formatResetDuration(65_000)).toBe("1m5s");
  });

  it("reports the tighter of project and service account, and nothing for unlimited kinds", () => {
    const headers = rateLimitHeaders([{ limit: 100, used: 10 }, { limit: 20, used: 15 }], [], 1500);
    expect(headers).toEqual({ "x-ratelimit-limit-requests": "20", "x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "2s" });
    expect(rateLimitHeaders([], [{ limit: 10, used: 12 }], 10)["x-ratelimit-remaining-tokens"]).toBe("0");
  });
});
