import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { CircuitBreaker } from "../../../src/core/resilience/CircuitBreaker.js";

describe("CircuitBreaker", () => {
  it("opens on the first failure, lets exactly one probe through after openForInMs, and closes when it succeeds", () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker(clock, { openForInMs: 1_000 });
    expect(breaker.permit()).toBe(true);
    expect(breaker.failed()).toBe(true);
    expect(breaker.state).toBe("open");
    expect(breaker.permit()).toBe(false);
    clock.advance(999);
    expect(breaker.permit()).toBe(false);
    clock.advance(1);
    expect(breaker.permit()).toBe(true);
    expect(breaker.state).toBe("half_open");
    expect(breaker.permit()).toBe(false);
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
    expect(breaker.permit()).toBe(true);
  });

  it("a failed probe re-opens for another period; a probe that never reports frees its slot after its lease", () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker(clock, { openForInMs: 1_000, probeLeaseInMs: 5_000 });
    breaker.failed();
    clock.advance(1_000);
    expect(breaker.permit()).toBe(true);
    expect(breaker.failed()).toBe(false);
    expect(breaker.permit()).toBe(false);
    clock.advance(1_000);
    expect(breaker.permit()).toBe(true);
    clock.advance(4_999);
    expect(breaker.permit()).toBe(false);
    clock.advance(1);
    expect(breaker.permit()).toBe(true);
  });
});
