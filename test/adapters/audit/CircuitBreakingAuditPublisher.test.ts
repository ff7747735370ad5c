import { describe, expect, it } from "vitest";
import { AuditPublishUnavailableError, CircuitBreakingAuditPublisher } from "../../../src/adapters/servicebus/CircuitBreakingAuditPublisher.js";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../../src/core/audit/AuditPublisher.js";
import { OutboxAuditPublisher } from "../../../src/core/audit/OutboxAuditPublisher.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { CircuitBreaker } from "../../../src/core/resilience/CircuitBreaker.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";

/** A broker that never answers (a partition), until `heal()`. */
class HangingPublisher implements AuditPublisher {
  calls = 0;
  healed = false;
  readonly published: AuditEvent[] = [];
  async publish(events: readonly AuditEvent[]): Promise<void> {
    this.calls += 1;
    if (!this.healed) await new Promise(() => undefined);
    this.published.push(...events);
  }
  heal(): void {
    this.healed = true;
  }
  async close(): Promise<void> {}
}

async function timed(work: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work.catch(() => undefined);
  return performance.now() - started;
}

describe("CircuitBreakingAuditPublisher", () => {
  it("bounds the first publish by its timeout, then sends everyone to the outbox at once until a probe succeeds", async () => {
    const clock = new ManualClock();
    const broker = new HangingPublisher();
    const breaker = new CircuitBreaker(clock, { openForInMs: 2_000 });
    const primary = new CircuitBreakingAuditPublisher(broker, { breaker, timeoutInMs: 150, logger: silentLogger });
    const outbox = new InMemoryAuditOutbox();
    const publisher = new OutboxAuditPublisher({ primary, outbox, failureModeFor: () => "outbox", logger: silentLogger });

    expect(await timed(publisher.publish([makeAuditEvent({ project: "p" }, 1)]))).toBeLessThan(1_000);
    expect(breaker.state).toBe("open");
    const fastOnes = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(publisher.publish([makeAuditEvent({ project: "p" }, 10 + i)]))));
    expect(Math.max(...fastOnes)).toBeLessThan(100);
    expect(broker.calls).toBe(1);
    const stored: AuditEvent[] = [];
    for await (const event of outbox.list()) stored.push(event);
    expect(stored).toHaveLength(21);

    broker.heal();
    clock.advance(2_000);
    await publisher.publish([makeAuditEvent({ project: "p" }, 99)]);
    expect(breaker.state).toBe("closed");
    expect(broker.published).toHaveLength(1);
  });

  it("in fail_closed a partition is a fast 503, not a 31-second wait", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker(clock, { openForInMs: 2_000 });
    const primary = new CircuitBreakingAuditPublisher(new HangingPublisher(), { breaker, timeoutInMs: 150, logger: silentLogger });
    const publisher = new OutboxAuditPublisher({ primary, outbox: new InMemoryAuditOutbox(), failureModeFor: () => "fail_closed", logger: silentLogger });
    await expect(publisher.publish([makeAuditEvent({ project: "p" }, 1)])).rejects.toMatchObject({ status: 503, code: "audit_unavailable" });
    const started = performance.now();
    await expect(publisher.publish([makeAuditEvent({ project: "p" }, 2)])).rejects.toMatchObject({ status: 503 });
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("the first publish (which opens the connection) gets the longer first deadline; later ones the short one", async () => {
    const breaker = new CircuitBreaker(new ManualClock(), { openForInMs: 2_000 });
    let delay = 400;
    const slowFirst: AuditPublisher = { publish: () => new Promise((resolve) => setTimeout(resolve, delay)), close: async () => undefined };
    const publisher = new CircuitBreakingAuditPublisher(slowFirst, { breaker, timeoutInMs: 150, firstTimeoutInMs: 2_000, logger: silentLogger });
    await publisher.publish([makeAuditEvent({ project: "p" }, 1)]);
    expect(breaker.state).toBe("closed");
    delay = 400;
    await expect(publisher.publish([makeAuditEvent({ project: "p" }, 2)])).rejects.toBeInstanceOf(AuditPublishUnavailableError);
    expect(breaker.state).toBe("open");
  });

  it("an event too large for a message does not open the breaker", async () => {
    const breaker = new CircuitBreaker(new ManualClock(), { openForInMs: 2_000 });
    const tooLarge: AuditPublisher = { publish: async () => Promise.reject(new RangeError("too large")), close: async () => undefined };
    const publisher = new CircuitBreakingAuditPublisher(tooLarge, { breaker, timeoutInMs: 150, logger: silentLogger });
    await expect(publisher.publish([makeAuditEvent({ project: "p" }, 1)])).rejects.toBeInstanceOf(RangeError);
    expect(breaker.state).toBe("closed");
    expect(AuditPublishUnavailableError.name).toBe("AuditPublishUnavailableError");
  });
});
