import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/core/logger.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { drainOutbox, OutboxAuditPublisher } from "../../../src/core/audit/OutboxAuditPublisher.js";
import { contentDigest } from "../../../src/core/audit/contentDigest.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";

function setup() {
  const primary = new InMemoryAuditPublisher();
  const outbox = new InMemoryAuditOutbox();
  const publisher = new OutboxAuditPublisher({
    primary,
    outbox,
    failureModeFor: (project) => (project === "lenient" ? "outbox" : "fail_closed"),
    logger: silentLogger,
  });
  return { primary, outbox, publisher };
}

describe("OutboxAuditPublisher", () => {
  it("publishes through the primary when it works", async () => {
    const { primary, outbox, publisher } = setup();
    await publisher.publish([makeAuditEvent({ project: "lenient" })]);
    expect(primary.published).toHaveLength(1);
    expect(outbox.events.size).toBe(0);
  });

  it("keeps events of outbox projects when the primary fails", async () => {
    const { primary, outbox, publisher } = setup();
    primary.failing = true;
    const e = makeAuditEvent({ project: "lenient" });
    await publisher.publish([e]);
    expect([...outbox.events.values()]).toEqual([e]);
  });

  it("fails closed with 503 audit_unavailable for fail_closed projects (or when the outbox fails too)", async () => {
    const { primary, outbox, publisher } = setup();
    primary.failing = true;
    const error: unknown = await publisher.publish([makeAuditEvent({ project: "strict" })]).catch((e: unknown) => e);
    expect(isPalisadeError(error) && [error.status, error.code]).toEqual([503, "audit_unavailable"]);
    outbox.failPut = true;
    await expect(publisher.publish([makeAuditEvent({ project: "lenient" })])).rejects.toMatchObject({ status: 503 });
  });

  it("drainOutbox republishes then deletes; failures stay for the next run", async () => {
    const { primary, outbox } = setup();
    const events = [makeAuditEvent({ project: "lenient" }, 1), makeAuditEvent({ project: "lenient" }, 2), makeAuditEvent({ project: "x" }, 3)];
    await outbox.put(events);
    primary.failing = true;
    expect(await drainOutbox({ outbox, publisher: primary, logger: silentLogger }, { batchSize: 2 })).toEqual({ republished: 0, failed: 3 });
    expect(outbox.events.size).toBe(3);
    primary.failing = false;
    expect(await drainOutbox({ outbox, publisher: primary, logger: silentLogger }, { batchSize: 2 })).toEqual({ republished: 3, failed: 0 });
    expect(outbox.events.size).toBe(0);
    expect(primary.published.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
  });
});

describe("contentDigest", () => {
  it("is HMAC-SHA256 hex under the key, and differs per key", () => {
    const key = Buffer.alloc(32, 7);
    // HMAC-SHA256(key = 32 x 0x07, "hello"), computed independently with Python's hmac module.
    const d = contentDigest(key, "hello");
    expect(d).toBe("290af183d08286ae740dfed386724985dc666de6350a8df2e8520307ae2503ed");
    expect(contentDigest(key, "hello")).toBe(d);
    expect(contentDigest(Buffer.alloc(32, 8), "hello")).not.toBe(d);
    expect(contentDigest(key, "hello!")).not.toBe(d);
    expect(() => contentDigest(Buffer.alloc(4), "x")).toThrow(RangeError);
  });
});
