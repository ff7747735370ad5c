import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { keyVaultClientOptions } from "../../../src/adapters/keyvault/keyVaultClientOptions.js";
import { CountingCredential } from "./kvTestClients.js";

describe("Key Vault emulator: secrets through the real @azure/keyvault-secrets SDK", () => {
  let emulator: RunningKeyVaultEmulator;
  let client: SecretClient;
  let credential: CountingCredential;

  beforeAll(async () => {
    emulator = await startKeyVaultEmulator();
    credential = new CountingCredential();
    client = new SecretClient(emulator.vaultUrl, credential, keyVaultClientOptions({ caCertPem: emulator.caCertPem }));
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it("answers the bearer challenge and sets a new version on every set", async () => {
    const first = await client.setSecret("api-key", "v1-value", { contentType: "text/plain", tags: { stage: "current" } });
    const second = await client.setSecret("api-key", "v2-value");
    expect(credential.calls).toBeGreaterThan(0);
    expect(credential.scopes).toContain("https://vault.azure.net/.default");
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(first.properties.id).toBe(`${emulator.vaultUrl}/secrets/api-key/${first.properties.version}`);
    expect(first.properties.contentType).toBe("text/plain");
    expect(first.properties.tags).toEqual({ stage: "current" });
    expect(first.properties.enabled).toBe(true);
    expect(first.properties.createdOn).toBeInstanceOf(Date);

    expect((await client.getSecret("api-key")).value).toBe("v2-value");
    const byVersion = await client.getSecret("api-key", { version: first.properties.version! });
    expect(byVersion.value).toBe("v1-value");
    expect(byVersion.properties.tags).toEqual({ stage: "current" });
  });

  it("reports a missing secret as 404 SecretNotFound", async () => {
    await expect(client.getSecret("never-set")).rejects.toMatchObject({ statusCode: 404, code: "SecretNotFound" });
    await expect(client.getSecret("api-key", { version: "0".repeat(32) })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("lists secrets and versions in pages that honour maxresults", async () => {
    for (let i = 0; i < 5; i++) await client.setSecret("paged", `value-${i}`);
    const pageSizes: number[] = [];
    const versions: string[] = [];
    for await (const page of client.listPropertiesOfSecretVersions("paged").byPage({ maxPageSize: 2 })) {
      pageSizes.push(page.length);
      versions.push(...page.map((p) => p.version!));
    }
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(new Set(versions).size).toBe(5);

    const all: string[] = [];
    for await (const properties of client.listPropertiesOfSecretVersions("paged")) all.push(properties.version!);
    expect(all).toEqual(versions);

    const names: string[] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 })) {
      expect(page.length).toBeLessThanOrEqual(1);
      names.push(...page.map((p) => p.name));
    }
    expect(names).toEqual(expect.arrayContaining(["api-key", "paged"]));
    expect(names.filter((n) => n === "paged")).toHaveLength(1);
  });

  it("updates properties of one version, and refuses get on a disabled secret with 403", async () => {
    const created = await client.setSecret("rotating", "secret-value");
    const version = created.properties.version!;
    const expiresOn = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const updated = await client.updateSecretProperties("rotating", version, {
      expiresOn,
      notBefore,
      tags: { stage: "pending" },
      contentType: "application/x-api-key",
    });
    expect(updated.expiresOn?.getTime()).toBe(expiresOn.getTime());
    expect(updated.notBefore?.getTime()).toBe(notBefore.getTime());
    expect(updated.tags).toEqual({ stage: "pending" });
    expect(updated.contentType).toBe("application/x-api-key");
    expect((await client.getSecret("rotating")).properties.tags).toEqual({ stage: "pending" });

    await client.updateSecretProperties("rotating", version, { enabled: false });
    await expect(client.getSecret("rotating")).rejects.toMatchObject({ statusCode: 403, code: "Forbidden" });
    await client.updateSecretProperties("rotating", version, { enabled: true });
    expect((await client.getSecret("rotating")).value).toBe("secret-value");
  });

  it("returns an expired secret, as real Key Vault does (the app enforces exp)", async () => {
    await client.setSecret("expired", "old", { expiresOn: new Date(Date.now() - 3_600_000) });
    const got = await client.getSecret("expired");
    expect(got.value).toBe("old");
    expect(got.properties.expiresOn!.getTime()).toBeLessThan(Date.now());
  });

  it("soft-deletes, lists, recovers and purges", async () => {
    await client.setSecret("doomed", "v");
    const deletePoller = await client.beginDeleteSecret("doomed");
    const deleted = await deletePoller.pollUntilDone();
    expect(deleted.name).toBe("doomed");
    expect(deleted.recoveryId).toBe(`${emulator.vaultUrl}/deletedsecrets/doomed`);
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    await expect(client.getSecret("doomed")).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.setSecret("doomed", "again")).rejects.toMatchObject({ statusCode: 409 });
    expect((await client.getDeletedSecret("doomed")).name).toBe("doomed");

    const deletedNames: string[] = [];
    for await (const item of client.listDeletedSecrets()) deletedNames.push(item.name);
    expect(deletedNames).toContain("doomed");

    const recoverPoller = await client.beginRecoverDeletedSecret("doomed");
    await recoverPoller.pollUntilDone();
    expect((await client.getSecret("doomed")).value).toBe("v");

    await (await client.beginDeleteSecret("doomed")).pollUntilDone();
    await client.purgeDeletedSecret("doomed");
    await expect(client.getDeletedSecret("doomed")).rejects.toMatchObject({ statusCode: 404 });
    await client.setSecret("doomed", "reborn");
    expect((await client.getSecret("doomed")).value).toBe("reborn");
  });

  it("rejects an invalid secret name with 400", async () => {
    await expect(client.setSecret("bad_name", "v")).rejects.toMatchObject({ statusCode: 400 });
  });
});
