import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../../local/azurite.js";
import { startKeyVaultEmulator, type RunningKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { startServiceBusEmulator, type RunningServiceBusEmulator } from "../../../local/servicebus/index.js";
import { ServiceBusClient } from "@azure/service-bus";
import { LocalDevelopmentCredential } from "../../../src/adapters/identity/LocalDevelopmentCredential.js";
import { createAuditComponents } from "../../../src/composition/audit.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";

let azurite: RunningAzurite;
let vault: RunningKeyVaultEmulator;
let broker: RunningServiceBusEmulator;
beforeAll(async () => {
  [azurite, vault, broker] = await Promise.all([
    startAzurite(),
    startKeyVaultEmulator(),
    startServiceBusEmulator({ queues: [{ name: "audit-events", requiresSession: true }], port: 0 }),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([azurite.stop(), vault.stop(), broker.stop()]);
});

describe("createAuditComponents on the local stack", () => {
  it("publish -> queue -> append -> checkpoint (Key Vault) -> verify, and the outbox when the queue is down", async () => {
    const audit = createAuditComponents({
      storage: { connectionString: azurite.connectionString },
      keyVault: { url: vault.vaultUrl, credential: new LocalDevelopmentCredential(), caCertPem: vault.caCertPem },
      checkpointKeyName: "audit-checkpoint",
      checkpointContainer: "audit-checkpoints",
      checkpointEvery: 5,
      serviceBus: { connectionString: broker.connectionString },
      auditQueue: "audit-events",
      clock: new ManualClock(),
      logger: silentLogger,
    });
    try {
      const events = Array.from({ length: 7 }, (_, i) => makeAuditEvent({ project: "stack" }, i));
      await audit.publisherFor("fail_closed").publish(events);
      const client = new ServiceBusClient(broker.connectionString);
      const receiver = await client.acceptSession("audit-events", "stack");
      const received = await receiver.receiveMessages(20, { maxWaitTimeInMs: 1_000 });
      for (const m of received) await receiver.completeMessage(m);
      await receiver.close();
      await client.close();
      const outcomes = await audit.appender.append(received.map((m) => ({ messageId: String(m.messageId), body: m.body })));
      expect(outcomes.map((o) => o.status)).toEqual(Array(7).fill("appended"));
      const checkpoint = await audit.anchor.getLatest("stack");
      expect(checkpoint).toMatchObject({ size: 7, keyId: expect.stringContaining("/keys/audit-checkpoint/") });
      expect(await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, "stack")).toMatchObject({
        intact: true,
        entriesChecked: 7,
        checkpointsChecked: 1,
      });
    } finally {
      await audit.close();
    }

    // The queue is unreachable: outbox projects keep their events, fail_closed ones get a 503.
    const offline = createAuditComponents({
      storage: { connectionString: azurite.connectionString },
      checkpointKeyName: "audit-checkpoint",
      checkpointContainer: "audit-checkpoints",
      checkpointEvery: 0,
      serviceBus: { connectionString: broker.connectionString.replace(/:\d+;/, ":1;") },
      auditQueue: "audit-events",
      clock: new ManualClock(),
      logger: silentLogger,
    });
    try {
      const kept = makeAuditEvent({ project: "lenient" });
      await offline.publisherFor("outbox").publish([kept]);
      const error: unknown = await offline.publisherFor("fail_closed").publish([makeAuditEvent({ project: "strict" })]).catch((e: unknown) => e);
      expect(isPalisadeError(error) && error.code).toBe("audit_unavailable");
      const stored = [];
      for await (const e of offline.outbox.list()) stored.push(e.eventId);
      expect(stored).toEqual([kept.eventId]);
    } finally {
      await offline.close().catch(() => undefined);
    }
  }, 60_000);
});
