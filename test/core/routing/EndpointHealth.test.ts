import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { breakerPolicy } from "./fixtures.js";

function setup() {
  const clock = new ManualClock();
  return { clock, health: new EndpointHealth(clock, breakerPolicy) };
}

describe("EndpointHealth breaker", () => {
  it("starts closed and available", () => {
    const { health } = setup();
    expect(health.state("a")).toBe("closed");
    expect(health.isAvailable("a")).toBe(true);
    expect(health.tryAcquire("a")).toBe(true);
  });

  it("opens after N consecutive failures, and a success in between resets the count", () => {
    const { health } = setup();
    health.recordFailure("a", "server_error");
    health.recordFailure("a", "timeout");
    health.recordSuccess("a", 100);
    health.recordFailure("a", "connection");
    health.recordFailure("a", "server_error");
    expect(health.state("a")).toBe("closed");
    health.recordFailure("a", "server_error");
    expect(health.state("a")).toBe("open");
    expect(health.isAvailable("a")).toBe(false);
    expect(health.tryAcquire("a")).toBe(false);
  });

  it("opens when the error rate over the window reaches the threshold with enough requests", () => {
    const { clock, health } = setup();
    // Alternate so consecutive failures never reach 3: 5 failures in 10 requests = 50 %.
    for (let index = 0; index < 4; index += 1) {
      health.recordSuccess("a", 50);
      health.recordFailure("a", "server_error");
      clock.advance(1_000);
    }
    health.recordSuccess("a", 50);
    expect(health.state("a")).toBe("closed");
    health.recordFailure("a", "server_error");
    expect(health.state("a")).toBe("open");
  });

  it("forgets failures that have left the window", () => {
    const { clock, health } = setup();
    for (let index = 0; index < 4; index += 1) {
      health.recordSuccess("a", 50);
      health.recordFailure("a", "server_error");
    }
    clock.advance(breakerPolicy.windowInMs + 10_000);
    health.recordSuccess("a", 50);
    health.recordFailure("a", "server_error");
    expect(health.state("a")).toBe("closed");
    expect(health.snapshot()[0]).toMatchObject({ windowRequests: 2, windowFailures: 1 });
  });

  it("half-opens after the cooldown and lets exactly one probe through; success closes it", () => {
    const { clock, health } = setup();
    for (let index = 0; index < 3; index += 1) health.recordFailure("a", "server_error");
    clock.advance(breakerPolicy.cooldownInMs - 1);
    expect(health.state("a")).toBe("open");
    expect(health.tryAcquire("a")).toBe(false);
    clock.advance(1);
    expect(health.state("a")).toBe("half_open");
    expect(health.isAvailable("a")).toBe(true);
    expect(health.tryAcquire("a")).toBe(true);
    expect(health.tryAcquire("a")).toBe(false);
    expect(health.isAvailable("a")).toBe(false);
    expect(health.state("a")).toBe("half_open");
    health.recordSuccess("a", 80);
    expect(health.state("a")).toBe("closed");
    expect(health.tryAcquire("a")).toBe(true);
    expect(health.tryAcquire("a")).toBe(true);
    // Closing starts afresh: one failure does not re-open it.
    health.recordFailure("a", "server_error");
    expect(health.state("a")).toBe("closed");
  });

  it("re-opens for a full cooldown when the probe fails", () => {
    const { clock, health } = setup();
    for (let index = 0; index < 3; index += 1) health.recordFailure("a", "server_error");
    clock.advance(breakerPolicy.cooldownInMs);
    expect(health.tryAcquire("a")).toBe(true);
    clock.advance(5_000);
    health.recordFailure("a", "timeout");
    expect(health.state("a")).toBe("open");
    clock.advance(breakerPolicy.cooldownInMs - 1);
    expect(health.tryAcquire("a")).toBe(false);
    clock.advance(1);
    expect(health.tryAcquire("a")).toBe(true);
  });

  it("ignores a straggler's success while open: only the probe closes the breaker", () => {
    const { health } = setup();
    for (let index = 0; index < 3; index += 1) health.recordFailure("a", "server_error");
    health.recordSuccess("a", 10);
    expect(health.state("a")).toBe("open");
  });

  it("frees the probe slot on release, and after the probe lease runs out", () => {
    const clock = new ManualClock();
    const health = new EndpointHealth(clock, breakerPolicy, { probeLeaseInMs: 10_000 });
    for (let index = 0; index < 3; index += 1) health.recordFailure("a", "server_error");
    clock.advance(breakerPolicy.cooldownInMs);
    expect(health.tryAcquire("a")).toBe(true);
    health.release("a");
    expect(health.tryAcquire("a")).toBe(true);
    expect(health.tryAcquire("a")).toBe(false);
    clock.advance(10_000);
    expect(health.tryAcquire("a")).toBe(true);
  });
});

describe("EndpointHealth retry-after", () => {
  it("skips a rate-limited endpoint until its retry-after, without counting against the breaker", () => {
    const { clock, health } = setup();
    for (let index = 0; index < 5; index += 1) health.recordFailure("a", "rate_limited", 4_000);
    expect(health.state("a")).toBe("closed");
    expect(health.isAvailable("a")).toBe(false);
    expect(health.nextAvailableInMs("a")).toBe(4_000);
    clock.advance(3_999);
    expect(health.tryAcquire("a")).toBe(false);
    clock.advance(1);
    expect(health.tryAcquire("a")).toBe(true);
    expect(health.isAvailable("b")).toBe(true);
  });

  it("uses a default when no retry-after was given and caps a huge one", () => {
    const clock = new ManualClock();
    const health = new EndpointHealth(clock, breakerPolicy, { defaultRetryAfterInMs: 2_000, maxRetryAfterInMs: 60_000 });
    health.recordFailure("a", "rate_limited");
    expect(health.nextAvailableInMs("a")).toBe(2_000);
    health.recordFailure("b", "rate_limited", 86_400_000);
    expect(health.nextAvailableInMs("b")).toBe(60_000);
  });
});

describe("EndpointHealth latency", () => {
  it("keeps an exponentially weighted moving average of successful latencies", () => {
    const clock = new ManualClock();
    const health = new EndpointHealth(clock, breakerPolicy, { latencyAlpha: 0.5 });
    expect(health.latencyInMs("a")).toBeNull();
    health.recordSuccess("a", 100);
    expect(health.latencyInMs("a")).toBe(100);
    health.recordSuccess("a", 300);
    expect(health.latencyInMs("a")).toBe(200);
    health.recordSuccess("a", 0);
    expect(health.latencyInMs("a")).toBe(100);
    expect(health.snapshot()).toEqual([
      { endpointId: "a", state: "closed", available: true, consecutiveFailures: 0, windowRequests: 3, windowFailures: 0, latencyEwmaInMs: 100, rateLimitedUntilInMs: null },
    ]);
  });
});
