import { describe, expect, it } from "vitest";
import { type ApiKeyRecord, type ApiKeyStore, isApiKeyAlreadyExistsError } from "../../src/core/auth/ApiKeyStore.js";

let counter = 0;
/** Unique, valid-looking key ids so suites sharing one table never collide. */
function newKeyId(): string {
  counter += 1;
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let suffix = "";
  let n = counter + Math.floor(Math.random() * 1_000_000) * 1000;
  for (let i = 0; i < 16; i += 1) {
    suffix += alphabet[n % 32];
    n = Math.floor(n / 32);
  }
  return suffix;
}

function record(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    keyId: newKeyId(),
    secretHash: "a".repeat(64),
    project: "billing",
    serviceAccount: "billing-app",
    createdAtInMs: 1_767_225_600_000,
    expiresAtInMs: 1_767_225_600_000 + 60 * 86_400_000,
    revokedAtInMs: null,
    ...overrides,
  };
}

async function collect(iterable: AsyncIterable<ApiKeyRecord>): Promise<ApiKeyRecord[]> {
  const out: ApiKeyRecord[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** The one contract every ApiKeyStore meets. The factory returns a fresh, empty store. */
export function describeApiKeyStoreContract(label: string, factory: () => Promise<ApiKeyStore>): void {
  describe(`ApiKeyStore contract: ${label}`, () => {
    it("returns what was created, field for field", async () => {
      const store = await factory();
      const created = record({ secretHash: "0123456789abcdef".repeat(4) });
      await store.create(created);
      expect(await store.get(created.keyId)).toEqual(created);
    });

    it("returns null for an unknown key id", async () => {
      const store = await factory();
      expect(await store.get(newKeyId())).toBeNull();
    });

    it("refuses a second record with the same key id and keeps the first", async () => {
      const store = await factory();
      const first = record();
      await store.create(first);
      const error: unknown = await store.create({ ...first, project: "other" }).then(() => null, (caught: unknown) => caught);
      expect(isApiKeyAlreadyExistsError(error)).toBe(true);
      expect((await store.get(first.keyId))?.project).toBe("billing");
    });

    it("lists records, filtered by project and by service account", async () => {
      const store = await factory();
      const a = record({ project: "alpha", serviceAccount: "one" });
      const b = record({ project: "alpha", serviceAccount: "two" });
      const c = record({ project: "beta", serviceAccount: "one" });
      for (const item of [a, b, c]) await store.create(item);
      const ids = (items: ApiKeyRecord[]): string[] => items.map((item) => item.keyId).sort();
      expect(ids(await collect(store.list()))).toEqual(expect.arrayContaining(ids([a, b, c])));
      expect(ids(await collect(store.list({ project: "alpha" })))).toEqual(ids([a, b]));
      expect(ids(await collect(store.list({ project: "alpha", serviceAccount: "two" })))).toEqual([b.keyId]);
      expect(await collect(store.list({ project: "nobody" }))).toEqual([]);
    });

    it("revokes, returns the revoked record and persists it", async () => {
      const store = await factory();
      const created = record();
      await store.create(created);
      const revoked = await store.revoke(created.keyId, created.createdAtInMs + 5_000);
      expect(revoked).toEqual({ ...created, revokedAtInMs: created.createdAtInMs + 5_000 });
      expect(await store.get(created.keyId)).toEqual(revoked);
    });

    it("is idempotent: a second revoke keeps the first revocation time", async () => {
      const store = await factory();
      const created = record();
      await store.create(created);
      await store.revoke(created.keyId, 1_000);
      const again = await store.revoke(created.keyId, 9_000);
      expect(again?.revokedAtInMs).toBe(1_000);
      expect((await store.get(created.keyId))?.revokedAtInMs).toBe(1_000);
    });

    it("returns null when revoking an unknown key", async () => {
      const store = await factory();
      expect(await store.revoke(newKeyId(), 1_000)).toBeNull();
    });

    it("survives concurrent revokes of one key with a single revocation time", async () => {
      const store = await factory();
      const created = record();
      await store.create(created);
      const results = await Promise.all([1, 2, 3, 4].map((n) => store.revoke(created.keyId, n * 1_000)));
      const stored = await store.get(created.keyId);
      expect(stored?.revokedAtInMs).not.toBeNull();
      // One writer wins; every other caller sees the winner's time, not its own (no lost update).
      for (const result of results) expect(result?.revokedAtInMs).toBe(stored?.revokedAtInMs);
      expect([1_000, 2_000, 3_000, 4_000]).toContain(stored?.revokedAtInMs);
      expect(stored?.secretHash).toBe(created.secretHash);
    });
  });
}
