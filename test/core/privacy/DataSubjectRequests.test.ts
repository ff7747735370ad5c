import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { type AuditPublisher } from "../../../src/core/audit/AuditPublisher.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { DataSubjectRequests } from "../../../src/core/privacy/DataSubjectRequests.js";
import { SubjectProtector, subjectPepperFrom } from "../../../src/core/privacy/SubjectProtector.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { InMemorySubjectKeyStore } from "../../fakes/InMemorySubjectKeyStore.js";

async function setup(publisher: AuditPublisher = new InMemoryAuditPublisher()) {
  const ledger = new InMemoryAuditLedger();
  const clock = new ManualClock();
  const protector = new SubjectProtector({ pepper: subjectPepperFrom(randomBytes(32)), keys: new InMemorySubjectKeyStore(), random: (n) => randomBytes(n) });
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const events: AuditEvent[] = [];
  for (let i = 0; i < 12; i += 1) {
    const who = i % 3 === 0 ? "alice@example.com" : i % 3 === 1 ? "bob@example.com" : null;
    const subject = who === null ? {} : { subject: (await protector.protect(who)).value };
    events.push(makeAuditEvent({ project: i % 2 === 0 ? "acme" : "billing", ...subject }, i));
  }
  await appender.append(events.map((body) => ({ messageId: body.eventId, body })));
  const dsr = new DataSubjectRequests({ ledger, protector, publisher, clock, logger: silentLogger, newEventId: randomUUID, policyVersion: "p".repeat(64), actorId: "cli" });
  return { ledger, protector, dsr, events };
}

describe("DataSubjectRequests", () => {
  it("exports every event about the subject, across chains, decrypted; and records it without the id", async () => {
    const publisher = new InMemoryAuditPublisher();
    const { dsr, events } = await setup(publisher);
    const result = await dsr.export("alice@example.com");
    const expectedIds = events.filter((_, i) => i % 3 === 0).map((e) => e.eventId);
    expect(result.keyPresent).toBe(true);
    expect(result.events.map((e) => e.eventId).sort()).toEqual([...expectedIds].sort());
    expect(result.events.every((e) => e.subject === "alice@example.com")).toBe(true);
    expect(new Set(result.events.map((e) => e.project))).toEqual(new Set(["acme", "billing"]));
    expect(publisher.published).toHaveLength(1);
    const [recorded] = publisher.published;
    expect(recorded).toMatchObject({ type: "dsr_exported", project: "_system", status: "success", details: { subjectRef: result.subjectRef, events: 4, keyPresent: true } });
    expect(JSON.stringify(recorded)).not.toContain("alice");
  });

  it("erases by destroying the key: the events stay, but can no longer be read or found", async () => {
    const publisher = new InMemoryAuditPublisher();
    const { dsr, ledger } = await setup(publisher);
    const erased = await dsr.erase("alice@example.com");
    expect(erased).toMatchObject({ keyDestroyed: true, eventsAffected: 4 });
    expect(ledger.chains.get("acme")!.rows.size + ledger.chains.get("billing")!.rows.size).toBe(12);
    const after = await dsr.export("alice@example.com");
    expect(after).toMatchObject({ keyPresent: false, events: [] });
    expect((await dsr.export("bob@example.com")).events).toHaveLength(4);
    expect(publisher.published.map((e) => e.type)).toEqual(["dsr_erased", "dsr_exported", "dsr_exported"]);
    expect(publisher.published[0]?.details).toMatchObject({ subjectRef: erased.subjectRef, keyDestroyed: true, events: 4 });
    expect(await dsr.erase("alice@example.com")).toMatchObject({ keyDestroyed: false, eventsAffected: 0 });
  });

  it("hands nothing out when the export cannot be recorded (fail closed)", async () => {
    const publisher = new InMemoryAuditPublisher();
    publisher.failing = true;
    const { dsr } = await setup(publisher);
    await expect(dsr.export("alice@example.com")).rejects.toThrow(/broker unavailable/);
  });

  it("says the key is gone when the erasure cannot be recorded, so the operator reruns it", async () => {
    const publisher = new InMemoryAuditPublisher();
    const { dsr, protector } = await setup(publisher);
    publisher.failing = true;
    await expect(dsr.erase("bob@example.com")).rejects.toThrow(/destroyed, but the dsr_erased audit event could not be published/);
    expect(await protector.openerFor("bob@example.com")).toBeNull();
  });
});
