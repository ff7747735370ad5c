import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { CheckpointKeyTrust } from "../../../src/core/audit/CheckpointKeyTrust.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { KeyExpiryCheck } from "../../../src/core/expiry/KeyExpiryCheck.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { InMemoryCheckpointKeyPins } from "../../fakes/InMemoryCheckpointKeyPins.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
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

  describe("the pinned checkpoint-signing key", () => {
    async function withCheckpointKey() {
      const s = await setup();
      const keys = new InMemoryCheckpointSigner();
      const trust = new CheckpointKeyTrust({ pins: new InMemoryCheckpointKeyPins(), keys, clock: s.clock, logger: silentLogger });
      const check = new KeyExpiryCheck({ secrets: null, apiKeys: null, checkpointKey: trust, audit: s.audit, clock: s.clock, logger: s.logger, newEventId: randomUUID, policyVersion: "p1" });
      return { ...s, keys, trust, check };
    }

    it("warns before the latest pinned version expires, naming the runbook, never key material", async () => {
      const s = await withCheckpointKey();
      const root = s.keys.keyId;
      s.keys.expiries.set(root, s.clock.nowInMs() + 90 * DAY);
      await s.trust.sign(new Uint8Array(32)); // the first checkpoint pins the root
      // A version the vault holds last but nobody pinned is not the one checkpoints use.
      const unpinned = await s.keys.createVersion();
      s.keys.expiries.set(unpinned, s.clock.nowInMs() + 2 * DAY);
      expect(await s.check.run()).toMatchObject({ checked: 1, warnings: 0, critical: 0 });

      s.clock.advance(85 * DAY); // 5 days left on the pinned root
      const result = await s.check.run();
      expect(result).toMatchObject({ checked: 1, warnings: 1, critical: 0 });
      expect(s.audit.published).toHaveLength(1);
      const [event] = s.audit.published;
      expect(event).toMatchObject({
        type: "key_expiring",
        project: "_system",
        reason: "expiring",
        details: { kind: "checkpoint-key", credentialId: root, days: 5, severity: "WARNING", remedy: "palisade audit rotate-key" },
      });
      expect(parseAuditEvent(event).ok).toBe(true);
      const text = JSON.stringify([s.audit.published, s.logger.lines]);
      expect(text).not.toContain(JSON.stringify(s.keys.publicJwk.x));
      const warnings = s.logger.lines.filter((line) => line.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toContain("palisade audit rotate-key");
    });

    it("follows a rotation to the newly pinned version; critical once it has expired", async () => {
      const s = await withCheckpointKey();
      s.keys.expiries.set(s.keys.keyId, s.clock.nowInMs() + 3 * DAY);
      await s.trust.sign(new Uint8Array(32));
      expect(await s.check.run()).toMatchObject({ warnings: 1 });
      const { pinned } = await s.trust.rotate();
      s.keys.expiries.set(pinned.keyId, s.clock.nowInMs() + 365 * DAY);
      s.audit.published.length = 0;
      expect(await s.check.run()).toMatchObject({ checked: 1, warnings: 0, critical: 0 });

      s.clock.advance(366 * DAY);
      expect(await s.check.run()).toMatchObject({ critical: 1 });
      expect(s.audit.published[0]).toMatchObject({ reason: "expired", details: { kind: "checkpoint-key", credentialId: pinned.keyId, severity: "CRITICAL" } });
    });

    it("a version with no expiry is a warning; pins that cannot be read are critical, and the other findings still go out", async () => {
      const s = await withCheckpointKey();
      await s.trust.sign(new Uint8Array(32));
      expect(await s.check.run()).toMatchObject({ warnings: 1 });
      expect(s.audit.published[0]).toMatchObject({ reason: "no_expiry", details: { kind: "checkpoint-key" } });

      const broken = new KeyExpiryCheck({
        secrets: null,
        apiKeys: s.apiKeys,
        checkpointKey: { signingKeyExpiry: () => Promise.reject(new Error("vault unreachable")) },
        audit: s.audit,
        clock: s.clock,
        logger: s.logger,
        newEventId: randomUUID,
        policyVersion: "p1",
      });
      await s.apiKeys.create({ project: "billing", serviceAccount: "app-a", expiresInMs: 3 * DAY });
      s.audit.published.length = 0;
      expect(await broken.run()).toMatchObject({ checked: 2, warnings: 1, critical: 1 });
      expect(s.audit.published.find((e) => e.details?.kind === "checkpoint-key")).toMatchObject({ reason: "unreadable", details: { severity: "CRITICAL", problem: "Error" } });

      // Broken pins (an edited pin) name the integrity problem, as the refused checkpoint does.
      const pins = new InMemoryCheckpointKeyPins();
      const keys = new InMemoryCheckpointSigner();
      const trust = new CheckpointKeyTrust({ pins, keys, clock: s.clock, logger: silentLogger });
      await trust.sign(new Uint8Array(32));
      await trust.rotate();
      pins.stored.set(1, { ...(pins.stored.get(1) as object), thumbprint: "forged" });
      const tampered = new KeyExpiryCheck({ secrets: null, apiKeys: null, checkpointKey: trust, audit: s.audit, clock: s.clock, logger: s.logger, newEventId: randomUUID, policyVersion: "p1" });
      s.audit.published.length = 0;
      expect(await tampered.run()).toMatchObject({ critical: 1 });
      expect(s.audit.published[0]).toMatchObject({ reason: "unreadable", details: { kind: "checkpoint-key", problem: "invalid_key_pin" } });
    });

    it("is not listed without a checkpoint key (no Key Vault)", async () => {
      const s = await setup();
      const check = new KeyExpiryCheck({ secrets: null, apiKeys: null, checkpointKey: null, audit: s.audit, clock: s.clock, logger: s.logger, newEventId: randomUUID, policyVersion: "p1" });
      expect(await check.run()).toMatchObject({ checked: 0 });
    });
  });
});
