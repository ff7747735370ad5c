import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { ManualClock } from "../../../src/core/clock.js";
import { KeyExpiryCheck } from "../../../src/core/expiry/KeyExpiryCheck.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { InMemoryCredentialIssuer } from "../../fakes/InMemoryCredentialIssuer.js";
import { InMemoryRotationStateStore } from "../../fakes/InMemoryRotationStateStore.js";
import { InMemorySecretStore } from "../../fakes/InMemorySecretStore.js";
import { DAY, credentialFixture, recordingLogger, rotationWorld } from "../rotation/rotationFixture.js";

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const secrets = new InMemorySecretStore(clock);
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (n) => new Uint8Array(randomBytes(n)) });
  const world = rotationWorld({ secrets, states: new InMemoryRotationStateStore(clock), issuer: new InMemoryCredentialIssuer(), localClock: clock });
  const audit = new InMemoryAuditPublisher();
  const logger = recordingLogger();
  const check = new KeyExpiryCheck({ secrets, apiKeys, audit, clock, logger, newEventId: randomUUID, policyVersion: "p1" });
  return { clock, secrets, apiKeys, world, audit, logger, check };
}

describe("KeyExpiryCheck", () => {
  it("emits one key_expiring event and one log line per warning or critical item, never a value", async () => {
    const s = await setup();
    // Managed credential: 30-day period -> its version expires in 60 days.
    const credential = credentialFixture({ project: "billing", rotationPeriodInDays: 30 });
    await s.world.register(credential);
    const soon = await s.apiKeys.create({ project: "billing", serviceAccount: "app-a", expiresInMs: 75 * DAY });
    const later = await s.apiKeys.create({ project: "search", serviceAccount: "app-b", expiresInMs: 200 * DAY });
    const revoked = await s.apiKeys.create({ project: "search", serviceAccount: "app-c", expiresInMs: 55 * DAY });
    await s.apiKeys.revoke(revoked.record.keyId);

    expect((await s.check.run()).findings).toHaveLength(0);
    expect(s.audit.published).toHaveLength(0);

    s.clock.advance(55 * DAY); // credential: 5 days left; `soon`: 20 days left
    let result = await s.check.run();
    expect(result).toMatchObject({ checked: 3, warnings: 1, critical: 0 });
    expect(s.audit.published).toHaveLength(1);
    expect(s.audit.published[0]).toMatchObject({ type: "key_expiring", project: "billing", details: { credentialId: credential.id, days: 5, severity: "WARNING" } });

    s.clock.advance(20 * DAY); // credential expired 15 days ago, `soon` expired now
    s.audit.published.length = 0;
    result = await s.check.run();
    expect(result).toMatchObject({ warnings: 0, critical: 2 });
    const byId = Object.fromEntries(s.audit.published.map((e) => [e.details?.credentialId, e.details]));
    expect(byId[credential.id]).toMatchObject({ severity: "CRITICAL", days: -15 });
    expect(byId[soon.record.keyId]).toMatchObject({ severity: "CRITICAL", kind: "api-key", prefix: `pal_${soon.record.keyId}_…` });
    expect(byId[later.record.keyId]).toBeUndefined();
    expect(byId[revoked.record.keyId]).toBeUndefined();
    for (const event of s.audit.published) {
      expect(parseAuditEvent(event).ok).toBe(true);
      expect(JSON.stringify(event)).not.toContain(soon.apiKey);
    }
    const lines = s.logger.lines.filter((line) => line.level === "error");
    expect(lines).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(soon.apiKey);
  });

  it("works without Key Vault (API keys only)", async () => {
    const s = await setup();
    const check = new KeyExpiryCheck({ secrets: null, apiKeys: s.apiKeys, audit: s.audit, clock: s.clock, logger: s.logger, newEventId: randomUUID, policyVersion: "p1" });
    await s.apiKeys.create({ project: "billing", serviceAccount: "app-a", expiresInMs: 3 * DAY });
    expect(await check.run()).toMatchObject({ checked: 1, warnings: 1 });
  });
});
