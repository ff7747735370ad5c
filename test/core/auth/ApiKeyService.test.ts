import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiKeyService, apiKeyStatus } from "../../../src/core/auth/ApiKeyService.js";
import { parseApiKey } from "../../../src/core/auth/apiKeyFormat.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type PalisadeError, isPalisadeError } from "../../../src/core/errors.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";

const DAY = 86_400_000;

function setup(options: { cacheTtlInMs?: number; random?: (n: number) => Uint8Array } = {}) {
  const store = new InMemoryApiKeyStore();
  const clock = new ManualClock();
  const service = new ApiKeyService({ store, clock, random: options.random ?? ((n) => new Uint8Array(randomBytes(n))), cacheTtlInMs: options.cacheTtlInMs ?? 0 });
  return { store, clock, service };
}

async function failure(promise: Promise<unknown>): Promise<PalisadeError> {
  const error: unknown = await promise.then(() => null, (caught: unknown) => caught);
  if (!isPalisadeError(error)) throw new Error(`expected a PalisadeError, got ${String(error)}`);
  return error;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("ApiKeyService", () => {
  it("creates a key shown once, stores only its hash, and verifies it", async () => {
    const { store, clock, service } = setup();
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: 60 * DAY });
    const parsed = parseApiKey(apiKey);
    expect(parsed?.keyId).toBe(record.keyId);
    const stored = await store.get(record.keyId);
    expect(JSON.stringify(stored)).not.toContain(parsed!.secret);
    expect(stored).toEqual({ ...record, createdAtInMs: clock.nowInMs(), expiresAtInMs: clock.nowInMs() + 60 * DAY, revokedAtInMs: null });
    await expect(service.verify(apiKey)).resolves.toEqual(record);
  });

  it("gives the same invalid_api_key for malformed, unknown and wrong-secret keys", async () => {
    const { service } = setup();
    const { apiKey } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    const wrongSecret = apiKey.slice(0, -1) + (apiKey.endsWith("a") ? "b" : "a");
    const unknownId = `pal_zzzzzzzzzzzzzzzz_${apiKey.slice(-52)}`;
    const errors = await Promise.all(["garbage", wrongSecret, unknownId].map((key) => failure(service.verify(key))));
    for (const error of errors) {
      expect(error.status).toBe(401);
      expect(error.code).toBe("invalid_api_key");
      expect(error.message).toBe(errors[0]!.message);
      expect(error.headers["www-authenticate"]).toContain("Bearer");
    }
  });

  it("refuses an expired key with expired_api_key, from the exact expiry instant", async () => {
    const { clock, service } = setup();
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    clock.advance(DAY - 1);
    await expect(service.verify(apiKey)).resolves.toBeDefined();
    clock.advance(1);
    const error = await failure(service.verify(apiKey));
    expect([error.status, error.code]).toEqual([401, "expired_api_key"]);
    expect(error.message).toContain(record.keyId);
    expect(error.message).not.toContain(apiKey);
  });

  it("refuses a revoked key with revoked_api_key, and revoke is idempotent", async () => {
    const { clock, service } = setup();
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    const revoked = await service.revoke(record.keyId);
    expect(revoked?.revokedAtInMs).toBe(clock.nowInMs());
    clock.advance(1000);
    expect((await service.revoke(record.keyId))?.revokedAtInMs).toBe(revoked?.revokedAtInMs);
    const error = await failure(service.verify(apiKey));
    expect([error.status, error.code]).toEqual([401, "revoked_api_key"]);
    expect(await service.revoke("zzzzzzzzzzzzzzzz")).toBeNull();
  });

  it("reports revoked/expired only once the secret matched (no status oracle)", async () => {
    const { clock, service } = setup();
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    await service.revoke(record.keyId);
    clock.advance(2 * DAY);
    const wrongSecret = apiKey.slice(0, -1) + (apiKey.endsWith("a") ? "b" : "a");
    expect((await failure(service.verify(wrongSecret))).code).toBe("invalid_api_key");
  });

  it("caches successful verifications for the TTL, still checks expiry, and forgets on local revoke", async () => {
    const { store, clock, service } = setup({ cacheTtlInMs: 30_000 });
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: 60_000 });
    await service.verify(apiKey);
    await service.verify(apiKey);
    expect(store.gets).toBe(1);
    // Revoked elsewhere (another instance, the CLI): honoured once the cache entry lapses.
    await store.revoke(record.keyId, clock.nowInMs());
    clock.advance(29_999);
    await expect(service.verify(apiKey)).resolves.toBeDefined();
    clock.advance(1);
    expect((await failure(service.verify(apiKey))).code).toBe("revoked_api_key");

    const second = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: 10_000 });
    await service.verify(second.apiKey);
    clock.advance(10_000);
    expect((await failure(service.verify(second.apiKey))).code).toBe("expired_api_key");

    const third = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    await service.verify(third.apiKey);
    await service.revoke(third.record.keyId);
    expect((await failure(service.verify(third.apiKey))).code).toBe("revoked_api_key");
  });

  it("never caches failures: a wrong secret cannot poison a key id", async () => {
    const { service } = setup({ cacheTtlInMs: 30_000 });
    const { apiKey } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    const wrongSecret = apiKey.slice(0, -1) + (apiKey.endsWith("a") ? "b" : "a");
    expect((await failure(service.verify(wrongSecret))).code).toBe("invalid_api_key");
    await expect(service.verify(apiKey)).resolves.toBeDefined();
    expect((await failure(service.verify(wrongSecret))).code).toBe("invalid_api_key");
  });

  it("validates its input", async () => {
    const { service } = setup();
    for (const input of [
      { project: "Billing", serviceAccount: "a", expiresInMs: DAY },
      { project: "billing", serviceAccount: "", expiresInMs: DAY },
      { project: "billing", serviceAccount: "a", expiresInMs: 0 },
      { project: "billing", serviceAccount: "a", expiresInMs: 1.5 },
      { project: "billing", serviceAccount: "a", expiresInMs: 4000 * DAY },
    ]) {
      expect((await failure(service.create(input))).code).toBe("invalid_request");
    }
  });

  it("retries a colliding key id and gives up on a broken random source", async () => {
    const constant = (n: number): Uint8Array => new Uint8Array(n).fill(7);
    const { service } = setup({ random: constant });
    await service.create({ project: "billing", serviceAccount: "a", expiresInMs: DAY });
    await expect(service.create({ project: "billing", serviceAccount: "a", expiresInMs: DAY })).rejects.toMatchObject({ name: "ApiKeyAlreadyExistsError" });
  });

  it("lists through the store with filters and reports status", async () => {
    const { clock, service } = setup();
    const a = await service.create({ project: "billing", serviceAccount: "a", expiresInMs: DAY });
    await service.create({ project: "search", serviceAccount: "b", expiresInMs: DAY });
    expect((await collect(service.list({ project: "billing" }))).map((r) => r.keyId)).toEqual([a.record.keyId]);
    expect(await collect(service.list())).toHaveLength(2);
    expect(service.status(a.record)).toBe("active");
    expect(apiKeyStatus(a.record, clock.nowInMs() + DAY)).toBe("expired");
    expect(apiKeyStatus({ ...a.record, revokedAtInMs: 5 }, clock.nowInMs() + DAY)).toBe("revoked");
  });
});
