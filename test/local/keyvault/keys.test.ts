import { createHash, createPublicKey, verify } from "node:crypto";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { keyVaultClientOptions } from "../../../src/adapters/keyvault/keyVaultClientOptions.js";
import { CountingCredential } from "./kvTestClients.js";

describe("Key Vault emulator: EC P-256 keys through the real @azure/keyvault-keys SDK", () => {
  let emulator: RunningKeyVaultEmulator;
  let keys: KeyClient;
  const credential = new CountingCredential();

  beforeAll(async () => {
    emulator = await startKeyVaultEmulator();
    keys = new KeyClient(emulator.vaultUrl, credential, keyVaultClientOptions({ caCertPem: emulator.caCertPem }));
  });
  afterAll(async () => {
    await emulator.stop();
  });

  const cryptoFor = (keyId: string): CryptographyClient =>
    new CryptographyClient(keyId, credential, keyVaultClientOptions({ caCertPem: emulator.caCertPem }));

  it("creates an EC P-256 key and gets its public JWK, latest and by version", async () => {
    const created = await keys.createEcKey("audit-checkpoint", { curve: "P-256", tags: { purpose: "checkpoint" } });
    expect(created.keyType).toBe("EC");
    expect(created.key?.crv).toBe("P-256");
    expect(created.key?.x).toHaveLength(32);
    expect(created.key?.y).toHaveLength(32);
    expect(created.key?.d).toBeUndefined();
    expect(created.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(created.id).toBe(`${emulator.vaultUrl}/keys/audit-checkpoint/${created.properties.version}`);
    expect(created.properties.tags).toEqual({ purpose: "checkpoint" });

    const second = await keys.createEcKey("audit-checkpoint", { curve: "P-256" });
    expect((await keys.getKey("audit-checkpoint")).properties.version).toBe(second.properties.version);
    const byVersion = await keys.getKey("audit-checkpoint", { version: created.properties.version! });
    expect(Buffer.from(byVersion.key!.x!).equals(Buffer.from(created.key!.x!))).toBe(true);
    await expect(keys.getKey("no-such-key")).rejects.toMatchObject({ statusCode: 404, code: "KeyNotFound" });
  });

  it("signs a SHA-256 digest with ES256 (raw r||s) that node:crypto verifies against the public JWK", async () => {
    const key = await keys.createEcKey("signer", { curve: "P-256" });
    const message = Buffer.from("merkle-root:0123456789abcdef");
    const digest = createHash("sha256").update(message).digest();
    const signed = await cryptoFor(key.id!).sign("ES256", digest);
    expect(signed.algorithm).toBe("ES256");
    expect(signed.keyID).toBe(key.id);
    expect(signed.result).toHaveLength(64);

    const publicKey = createPublicKey({
      key: { kty: "EC", crv: "P-256", x: Buffer.from(key.key!.x!).toString("base64url"), y: Buffer.from(key.key!.y!).toString("base64url") },
      format: "jwk",
    });
    expect(verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, signed.result)).toBe(true);
    expect(verify("sha256", Buffer.from("another message"), { key: publicKey, dsaEncoding: "ieee-p1363" }, signed.result)).toBe(false);
  });

  it("verifies through the CryptographyClient, and rejects a tampered digest or signature", async () => {
    const key = await keys.createEcKey("verifier", { curve: "P-256" });
    const crypto = cryptoFor(key.id!);
    const digest = createHash("sha256").update("checkpoint").digest();
    const { result: signature } = await crypto.sign("ES256", digest);
    expect((await crypto.verify("ES256", digest, signature)).result).toBe(true);
    const otherDigest = createHash("sha256").update("checkpoint!").digest();
    expect((await crypto.verify("ES256", otherDigest, signature)).result).toBe(false);
    const tampered = Uint8Array.from(signature);
    tampered[10] = tampered[10]! ^ 0xff;
    expect((await crypto.verify("ES256", digest, tampered)).result).toBe(false);
    // signData hashes locally and signs remotely, as in Azure.
    const { result: dataSignature } = await crypto.signData("ES256", Buffer.from("checkpoint"));
    expect((await crypto.verify("ES256", digest, dataSignature)).result).toBe(true);
  });

  it("refuses a digest of the wrong length, an unsupported algorithm and a disabled key", async () => {
    const key = await keys.createEcKey("strict", { curve: "P-256" });
    const crypto = cryptoFor(key.id!);
    await expect(crypto.sign("ES256", new Uint8Array(20))).rejects.toMatchObject({ statusCode: 400 });
    await expect(crypto.sign("ES384", new Uint8Array(48))).rejects.toMatchObject({ statusCode: 400 });
    await keys.updateKeyProperties("strict", key.properties.version!, { enabled: false });
    await expect(crypto.sign("ES256", new Uint8Array(32))).rejects.toMatchObject({ statusCode: 403 });
  });

  it("refuses RSA and other curves with 400", async () => {
    await expect(keys.createRsaKey("rsa-key")).rejects.toMatchObject({ statusCode: 400 });
    await expect(keys.createEcKey("p384", { curve: "P-384" })).rejects.toMatchObject({ statusCode: 400 });
  });

  it("lists keys and key versions", async () => {
    await keys.createEcKey("listed", { curve: "P-256" });
    await keys.createEcKey("listed", { curve: "P-256" });
    const names: string[] = [];
    for await (const properties of keys.listPropertiesOfKeys()) names.push(properties.name);
    expect(names).toEqual(expect.arrayContaining(["audit-checkpoint", "listed", "signer"]));
    expect(names.filter((n) => n === "listed")).toHaveLength(1);
    let versions = 0;
    for await (const properties of keys.listPropertiesOfKeyVersions("listed")) {
      expect(properties.version).toMatch(/^[0-9a-f]{32}$/);
      versions += 1;
    }
    expect(versions).toBe(2);
  });

  it("rotates a key: a new latest version with the same ops and the same lifetime; 404 for an unknown key", async () => {
    const expiresOn = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * 86_400_000);
    const first = await keys.createEcKey("rotated", { curve: "P-256", keyOps: ["sign", "verify"], expiresOn });
    const rotated = await keys.rotateKey("rotated");
    expect(rotated.properties.version).not.toBe(first.properties.version);
    expect(rotated.key?.x).not.toEqual(first.key?.x);
    expect(rotated.keyOperations).toEqual(["sign", "verify"]);
    const lifetime = (first.properties.expiresOn?.getTime() ?? 0) - (first.properties.createdOn?.getTime() ?? 0);
    expect((rotated.properties.expiresOn?.getTime() ?? 0) - (rotated.properties.createdOn?.getTime() ?? 0)).toBe(lifetime);
    expect((await keys.getKey("rotated")).id).toBe(rotated.id);
    await expect(keys.rotateKey("never-created")).rejects.toMatchObject({ statusCode: 404 });
  });
});
