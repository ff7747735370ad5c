import { randomBytes, randomUUID } from "node:crypto";
import { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { ApiKeyService } from "../../src/core/auth/ApiKeyService.js";
import { ManualClock } from "../../src/core/clock.js";
import { KeyExpiryCheck } from "../../src/core/expiry/KeyExpiryCheck.js";
import { createKeyExpiryCheckHandler, definition } from "../../src/functions/keyExpiryCheck.js";
import { InMemoryApiKeyStore } from "../fakes/InMemoryApiKeyStore.js";
import { InMemoryAuditPublisher } from "../fakes/InMemoryAuditPublisher.js";
import { recordingLogger } from "../core/rotation/rotationFixture.js";

const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

describe("keyExpiryCheck function", () => {
  it("is a timer on %KEY_EXPIRY_CHECK_SCHEDULE%", () => {
    expect(definition.kind).toBe("timer");
    expect(definition.name).toBe("keyExpiryCheck");
    expect(definition.options.schedule).toBe("%KEY_EXPIRY_CHECK_SCHEDULE%");
  });

  it("runs the use case and returns its counts", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (n) => new Uint8Array(randomBytes(n)) });
    await apiKeys.create({ project: "billing", serviceAccount: "app", expiresInMs: 2 * 86_400_000 });
    const audit = new InMemoryAuditPublisher();
    const expiryCheck = new KeyExpiryCheck({ secrets: null, apiKeys, audit, clock, logger: recordingLogger(), newEventId: randomUUID, policyVersion: "p" });
    const handler = createKeyExpiryCheckHandler(async () => ({ expiryCheck }));
    const result = await handler(timer, new InvocationContext({ invocationId: "i1", functionName: "keyExpiryCheck" }));
    expect(result).toMatchObject({ checked: 1, warnings: 1, critical: 0 });
    expect(audit.published.map((e) => e.type)).toEqual(["key_expiring"]);
  });
});
