import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { AUDIT_LOG_TABLE } from "../../../src/adapters/tables/audit/auditEntities.js";
import { SUBJECT_KEYS_TABLE } from "../../../src/adapters/tables/TableSubjectKeyStore.js";
import { type AuditComponents, createAuditComponents } from "../../../src/composition/audit.js";
import { createSubjectProtector } from "../../../src/composition/compliance.js";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../../src/core/audit/AuditPublisher.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { DataSubjectRequests } from "../../../src/core/privacy/DataSubjectRequests.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

/** Stands in for Service Bus + the trigger: publish appends straight to the chain. */
function appendingPublisher(audit: AuditComponents): AuditPublisher {
  return {
    publish: async (events) => {
      const outcomes = await audit.appender.append(events.map((body) => ({ messageId: body.eventId, body })));
      if (outcomes.some((o) => o.status === "invalid")) throw new Error("invalid event");
    },
    close: async () => undefined,
  };
}

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

describe("GDPR erasure on the local stack (Azurite, the real Table ledger and Blob checkpoints)", () => {
  it("after erase, the chain still verifies and the subject's data can no longer be read", async () => {
    const cs = azurite.connectionString;
    const clock = new ManualClock(Date.UTC(2026, 2, 10, 12));
    const signer = new InMemoryCheckpointSigner();
    const audit = createAuditComponents({
      storage: { connectionString: cs },
      checkpointKeyName: "audit-checkpoint",
      checkpointContainer: "audit-checkpoints",
      checkpointEvery: 0,
      auditQueue: "audit-events",
      clock,
      logger: silentLogger,
      checkpointKeys: { signer, verifier: signer.verifier() },
    });
    const storage = {
      table: (name: string) => TableClient.fromConnectionString(cs, name, { allowInsecureConnection: true }),
      blobService: async () => BlobServiceClient.fromConnectionString(cs),
    };
    const digestKey = randomBytes(32);
    const protector = createSubjectProtector({ digestKey, storage, clock, createTableIfMissing: true });
    const publisher = appendingPublisher(audit);
    const subjects = ["alice@example.com", "bob@example.com"];
    const events: AuditEvent[] = [];
    for (let i = 0; i < 20; i += 1) {
      const who = subjects[i % 2] ?? "";
      events.push(makeAuditEvent({ project: "acme", subject: (await protector.protect(who)).value, ts: new Date(clock.nowInMs() + i * 1000).toISOString() }, i));
    }
    await publisher.publish(events);
    const before = await audit.checkpointer.checkpoint("acme");
    expect(before.size).toBe(20);

    const dsr = new DataSubjectRequests({ ledger: audit.ledger, protector, publisher, clock, logger: silentLogger, newEventId: randomUUID, policyVersion: "p".repeat(64), actorId: "cli" });
    const exported = await dsr.export("alice@example.com");
    expect(exported.events).toHaveLength(10);
    expect(exported.events.every((e) => e.subject === "alice@example.com")).toBe(true);

    const erased = await dsr.erase("alice@example.com");
    expect(erased).toMatchObject({ keyDestroyed: true, eventsAffected: 10 });

    // The chain was never rewritten: it verifies against the checkpoint signed before the erasure.
    const verified = await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, "acme");
    expect(verified).toMatchObject({ intact: true, entriesChecked: 20, checkpointsChecked: 1 });
    expect((await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, "_system")).intact).toBe(true);

    // The encrypted fields are still in the chain, but nothing can read them any more.
    expect(await protector.openerFor("alice@example.com")).toBeNull();
    expect((await dsr.export("alice@example.com")).events).toEqual([]);
    expect((await dsr.export("bob@example.com")).events).toHaveLength(10);
    const keyRows = [];
    for await (const row of TableClient.fromConnectionString(cs, SUBJECT_KEYS_TABLE, { allowInsecureConnection: true }).listEntities()) keyRows.push(row);
    expect(keyRows).toHaveLength(1);

    // Nowhere in storage is a subject id in clear: not in the chain, not in the key table, not in DSR events.
    const rawRows: string[] = [];
    for await (const row of TableClient.fromConnectionString(cs, AUDIT_LOG_TABLE, { allowInsecureConnection: true }).listEntities()) rawRows.push(JSON.stringify(row));
    const raw = rawRows.join("\n") + JSON.stringify(keyRows);
    expect(raw).toContain('"type":"dsr_erased"');
    expect(raw).not.toContain("alice");
    expect(raw).not.toContain("bob@");
    await audit.close();
  }, 60_000);
});
