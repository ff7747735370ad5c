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
import { appendWorkerScript } from "../../support/appendWorkerScript.js";
import { WorkerAuditAppender } from "../../../src/adapters/workers/WorkerAuditAppender.js";

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

// The append in this thread, and in the instance's append worker (the checkpoint signed by Key Vault from this thread).
describe.each(["in-thread", "worker"] as const)("createAuditComponents on the local stack, the append %s", (mode) => {
  it("publish -> queue -> append -> checkpoint (Key Vault) -> verify, and the outbox when the queue is down", async () => {
    // One chain per mode: both run against the same Azurite.
    const chain = `stack-${mode}`;
    const appendWorker = mode === "worker" ? { appendWorker: { timeoutInMs: 30_000, credential: { local: true }, workerUrl: await appendWorkerScript() } } : {};
    const audit = createAuditComponents({
      ...appendWorker,
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
      const events = Array.from({ length: 7 }, (_, i) => makeAuditEvent({ project: chain }, i));
      await audit.publisherFor("fail_closed").publish(events);
      const client = new ServiceBusClient(broker.connectionString);
      const receiver = await client.acceptSession("audit-events", chain);
      const received = await receiver.receiveMessages(20, { maxWaitTimeInMs: 1_000 });
      for (const m of received) await receiver.completeMessage(m);
      await receiver.close();
      await client.close();
      expect(audit.appender instanceof WorkerAuditAppender).toBe(mode === "worker");
      const outcomes = await audit.appender.append(received.map((m) => ({ messageId: String(m.messageId), body: m.body })));
      expect(outcomes.map((o) => o.status)).toEqual(Array(7).fill("appended"));
      const checkpoint = await audit.anchor.getLatest(chain);
      expect(checkpoint).toMatchObject({ size: 7, keyId: expect.stringContaining("/keys/audit-checkpoint/") });
      expect(await verifyStoredChain({ ledger: audit.ledger, anchor: audit.anchor, signatureVerifier: audit.signatureVerifier }, chain)).toMatchObject({
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
      const strict = makeAuditEvent({ project: "strict" });
      const error: unknown = await offline.publisherFor("fail_closed").publish([strict]).catch((e: unknown) => e);
      expect(isPalisadeError(error) && error.code).toBe("audit_unavailable");
      const stored = [];
      for await (const e of offline.outbox.list()) stored.push(e.eventId);
      // The outbox table is shared by both modes' runs: this run's event is in it once, the strict one never.
      expect(stored.filter((id) => id === kept.eventId)).toHaveLength(1);
      expect(stored).not.toContain(strict.eventId);
    } finally {
      await offline.close().catch(() => undefined);
    }
  }, 60_000);
});
