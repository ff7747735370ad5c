import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUsable } from "../../src/core/secrets/isUsable.js";
import type { SecretStore, SecretVersionProperties } from "../../src/core/secrets/SecretStore.js";
import { isSecretDisabledError, isSecretStoreError } from "../../src/core/secrets/secretErrors.js";

export interface SecretStoreUnderTest {
  readonly store: SecretStore;
  /** The store's idea of now (the fake's manual clock, or the wall clock for Key Vault). */
  nowInMs(): number;
  stop?(): Promise<void>;
}

/** Whole seconds, before 2038 (the SDK writes times as 32-bit epoch seconds). */
const at = (iso: string): number => Date.parse(iso);

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * The behaviour every SecretStore must have, run against the in-memory fake and against
 * KeyVaultSecretStore on the local Key Vault emulator. Names are unique per test, so one store
 * serves the whole suite.
 */
export function describeSecretStoreContract(label: string, factory: () => Promise<SecretStoreUnderTest>): void {
  describe(`SecretStore contract: ${label}`, () => {
    let subject: SecretStoreUnderTest;
    let store: SecretStore;
    const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString("hex")}`;

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterAll(async () => {
      await subject.stop?.();
    });

    it("returns null for a missing secret and for a missing version", async () => {
      const name = unique("missing");
      expect(await store.getSecret(name)).toBeNull();
      await store.setSecret(name, "value-1");
      expect(await store.getSecret(name, { version: "0123456789abcdef0123456789abcdef" })).toBeNull();
    });

    it("sets a new version each time; get returns the latest, or the version asked for", async () => {
      const name = unique("versions");
      const first = await store.setSecret(name, "first-value");
      const second = await store.setSecret(name, "second-value");
      expect(first.version).toMatch(/^[0-9a-f]{32}$/);
      expect(second.version).toMatch(/^[0-9a-f]{32}$/);
      expect(second.version).not.toBe(first.version);
      expect(first).toMatchObject({ name, enabled: true, expiresAtInMs: null, notBeforeInMs: null, tags: {}, contentType: null });
      expect(first).not.toHaveProperty("value");

      const latest = await store.getSecret(name);
      expect(latest).toMatchObject({ name, version: second.version, value: "second-value" });
      const older = await store.getSecret(name, { version: first.version });
      expect(older).toMatchObject({ name, version: first.version, value: "first-value" });
    });

    it("keeps tags, content type, expiry and not-before, in whole seconds", async () => {
      const name = unique("props");
      const set = await store.setSecret(name, "v", {
        tags: { stage: "pending", credential: "openai-eastus" },
        contentType: "application/x-api-key",
        expiresAtInMs: at("2030-05-01T10:00:00.750Z"),
        notBeforeInMs: at("2026-01-01T00:00:00.000Z"),
      });
      expect(set.expiresAtInMs).toBe(at("2030-05-01T10:00:00.000Z"));
      const got = await store.getSecret(name);
      expect(got).toMatchObject({
        tags: { stage: "pending", credential: "openai-eastus" },
        contentType: "application/x-api-key",
        expiresAtInMs: at("2030-05-01T10:00:00.000Z"),
        notBeforeInMs: at("2026-01-01T00:00:00.000Z"),
      });
      expect(got!.createdAtInMs % 1000).toBe(0);
      expect(got!.updatedAtInMs).toBeGreaterThanOrEqual(got!.createdAtInMs);
    });

    it("refuses to return a disabled version with SecretDisabledError, and returns it once enabled", async () => {
      const name = unique("disabled");
      const first = await store.setSecret(name, "keep-me");
      const second = await store.setSecret(name, "hidden", { enabled: false });
      expect(second.enabled).toBe(false);

      const latest = await store.getSecret(name).catch((error: unknown) => error);
      expect(isSecretDisabledError(latest)).toBe(true);
      expect(latest).toMatchObject({ code: "secret_disabled", name: "SecretDisabledError" });
      expect(String((latest as Error).message)).not.toContain("hidden");
      await expect(store.getSecret(name, { version: second.version })).rejects.toMatchObject({ code: "secret_disabled" });
      expect((await store.getSecret(name, { version: first.version }))?.value).toBe("keep-me");

      await store.updateSecretProperties(name, second.version, { enabled: true });
      expect((await store.getSecret(name))?.value).toBe("hidden");
    });

    it("updates only the fields in the patch, on the version named", async () => {
      const name = unique("update");
      const first = await store.setSecret(name, "a", { tags: { stage: "current" }, contentType: "text/plain" });
      const second = await store.setSecret(name, "b", { tags: { stage: "pending" } });

      const updated = await store.updateSecretProperties(name, first.version, {
        tags: { stage: "previous" },
        expiresAtInMs: at("2031-01-01T00:00:00.000Z"),
      });
      expect(updated).toMatchObject({
        name,
        version: first.version,
        enabled: true,
        tags: { stage: "previous" },
        contentType: "text/plain",
        expiresAtInMs: at("2031-01-01T00:00:00.000Z"),
      });
      const untouched = await store.getSecret(name, { version: second.version });
      expect(untouched).toMatchObject({ tags: { stage: "pending" }, expiresAtInMs: null });

      const disabled = await store.updateSecretProperties(name, first.version, { enabled: false });
      expect(disabled).toMatchObject({ enabled: false, tags: { stage: "previous" }, expiresAtInMs: at("2031-01-01T00:00:00.000Z") });
    });

    it("fails to update a missing version with secret_not_found", async () => {
      const name = unique("update-missing");
      await expect(store.updateSecretProperties(name, "0123456789abcdef0123456789abcdef", { enabled: false })).rejects.toMatchObject({
        code: "secret_not_found",
      });
      await store.setSecret(name, "v");
      const error = await store
        .updateSecretProperties(name, "fedcba9876543210fedcba9876543210", { enabled: false })
        .catch((e: unknown) => e);
      expect(isSecretStoreError(error, "secret_not_found")).toBe(true);
    });

    it("lists every version of a secret without values, and nothing for a missing one", async () => {
      const name = unique("list-versions");
      const set: SecretVersionProperties[] = [];
      for (let i = 0; i < 4; i++) set.push(await store.setSecret(name, `value-${i}`, { tags: { n: String(i) } }));
      const listed = await collect(store.listSecretVersions(name));
      expect(listed.map((v) => v.version).sort()).toEqual(set.map((v) => v.version).sort());
      for (const item of listed) {
        expect(item).not.toHaveProperty("value");
        expect(item.name).toBe(name);
      }
      expect(listed.find((v) => v.version === set[2]!.version)?.tags).toEqual({ n: "2" });
      expect(await collect(store.listSecretVersions(unique("never-set")))).toEqual([]);
    });

    it("lists the latest properties of every secret, across pages", async () => {
      const prefix = unique("list");
      const names = Array.from({ length: 27 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
      for (const name of names) await store.setSecret(name, "old", { tags: { generation: "1" } });
      await store.setSecret(names[0]!, "new", { tags: { generation: "2" }, contentType: "text/plain" });

      const listed = (await collect(store.listSecrets())).filter((s) => s.name.startsWith(prefix));
      expect(listed.map((s) => s.name).sort()).toEqual(names);
      const first = listed.find((s) => s.name === names[0]);
      expect(first).toMatchObject({ tags: { generation: "2" }, contentType: "text/plain", enabled: true });
      for (const item of listed) expect(item).not.toHaveProperty("value");
    });

    it("still returns an expired secret; isUsable tells the app not to use it", async () => {
      const name = unique("expired");
      const now = subject.nowInMs();
      await store.setSecret(name, "stale", { expiresAtInMs: now - 3_600_000 });
      const got = await store.getSecret(name);
      expect(got?.value).toBe("stale");
      expect(isUsable(got!, now)).toBe(false);

      const future = await store.setSecret(unique("future"), "later", { notBeforeInMs: now + 3_600_000 });
      expect(isUsable(future, now)).toBe(false);
      const fine = await store.setSecret(unique("fine"), "ok", { expiresAtInMs: now + 3_600_000 });
      expect(isUsable(fine, now)).toBe(true);
    });

    it("rejects names Key Vault would reject, without echoing the value", async () => {
      const error = await store.setSecret("bad_name!", "do-not-echo-this").catch((e: unknown) => e);
      expect(isSecretStoreError(error, "invalid_secret_name")).toBe(true);
      expect(String((error as Error).message)).not.toContain("do-not-echo-this");
      await expect(store.getSecret("a".repeat(128))).rejects.toMatchObject({ code: "invalid_secret_name" });
    });

    it("honours an aborted signal", async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(store.getSecret(unique("abort"), { abortSignal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
      await expect(store.setSecret(unique("abort"), "v", { abortSignal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
    });
  });
}
