import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createRotationServices, parseRotationSettings } from "../../src/composition/rotation.js";
import { parseSettings } from "../../src/composition/settings.js";
import { CheckpointKeyTrust } from "../../src/core/audit/CheckpointKeyTrust.js";
import { ApiKeyService } from "../../src/core/auth/ApiKeyService.js";
import { ManualClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { InMemoryApiKeyStore } from "../fakes/InMemoryApiKeyStore.js";
import { InMemoryAuditPublisher } from "../fakes/InMemoryAuditPublisher.js";
import { InMemoryCheckpointKeyPins } from "../fakes/InMemoryCheckpointKeyPins.js";
import { InMemoryCheckpointSigner } from "../fakes/InMemoryCheckpointSigner.js";

const DAY = 86_400_000;

function rotationServices(keyTrust: CheckpointKeyTrust | null, clock: ManualClock, audit: InMemoryAuditPublisher) {
  const settings = parseSettings({ AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" });
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (n) => new Uint8Array(randomBytes(n)) });
  return createRotationServices(
    { settings, secrets: null, apiKeys, audit: { publisherFor: () => audit, keyTrust }, clock, logger: silentLogger, policy: { version: "p1" } },
    parseRotationSettings({}),
  );
}

describe("createRotationServices", () => {
  it("gives the key expiry check the app's pinned checkpoint key, and none without one", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const keys = new InMemoryCheckpointSigner();
    keys.expiries.set(keys.keyId, clock.nowInMs() + 2 * DAY);
    const keyTrust = new CheckpointKeyTrust({ pins: new InMemoryCheckpointKeyPins(), keys, clock, logger: silentLogger });
    const audit = new InMemoryAuditPublisher();
    expect(await rotationServices(keyTrust, clock, audit).expiryCheck.run()).toMatchObject({ checked: 1, warnings: 1 });
    expect(audit.published[0]).toMatchObject({ type: "key_expiring", details: { kind: "checkpoint-key", credentialId: keys.keyId } });
    expect(await rotationServices(null, clock, new InMemoryAuditPublisher()).expiryCheck.run()).toMatchObject({ checked: 0 });
  });
});
