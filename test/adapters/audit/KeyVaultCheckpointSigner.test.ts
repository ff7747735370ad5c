import { KeyClient } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeyVaultEmulator, type RunningKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { LocalDevelopmentCredential } from "../../../src/adapters/identity/LocalDevelopmentCredential.js";
import { KeyVaultCheckpointSigner, parseKeyId } from "../../../src/adapters/keyvault/KeyVaultCheckpointSigner.js";
import { keyVaultClientOptions } from "../../../src/adapters/keyvault/keyVaultClientOptions.js";
import { sha256 } from "../../../src/core/audit/hashing.js";
import { PublicKeySignatureVerifier } from "../../../src/core/audit/PublicKeySignatureVerifier.js";
import { describeCheckpointKeyVersionsContract } from "../../contracts/checkpointKeyVersions.contract.js";
import { describeCheckpointSignerContract } from "../../contracts/checkpointSigner.contract.js";

let vault: RunningKeyVaultEmulator;
beforeAll(async () => {
  vault = await startKeyVaultEmulator();
});
afterAll(async () => {
  await vault.stop();
});

const signerFor = (keyName: string) =>
  new KeyVaultCheckpointSigner({
    vaultUrl: vault.vaultUrl,
    keyName,
    credential: new LocalDevelopmentCredential(),
    clientOptions: keyVaultClientOptions({ caCertPem: vault.caCertPem }),
    createKeyIfMissing: true,
  });

describeCheckpointSignerContract("KeyVaultCheckpointSigner on the Key Vault emulator", async () => {
  const signer = signerFor("audit-checkpoint");
  return { signer, verifier: signer };
});

let keyNames = 0;
describeCheckpointKeyVersionsContract("KeyVaultCheckpointSigner on the Key Vault emulator", async () => {
  keyNames += 1;
  const foreign = await signerFor(`cp-foreign-${keyNames}`).currentKeyId();
  return { keys: signerFor(`cp-versions-${keyNames}`), foreignKeyId: foreign };
});

describe("KeyVaultCheckpointSigner", () => {
  it("signs with the versioned key id, and an auditor can verify offline with the public JWK", async () => {
    const signer = signerFor("cp-offline");
    const message = Buffer.from("note");
    const { keyId, signature } = await signer.sign(sha256(message));
    expect(parseKeyId(keyId)).toMatchObject({ name: "cp-offline" });
    const jwk = await signer.publicJwk(keyId);
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    const offline = new PublicKeySignatureVerifier({ [keyId]: jwk! });
    expect(await offline.verify({ keyId, message, signature })).toBe(true);
    // A key of another name in the same vault is not trusted for checkpoints.
    const other = signerFor("not-the-checkpoint-key");
    const forged = await other.sign(sha256(message));
    expect(await signer.verify({ keyId: forged.keyId, message, signature: forged.signature })).toBe(false);
  });

  it("reads a version's expiry from its Key Vault attributes, and sees an extension", async () => {
    const keyName = "cp-expiry";
    const keys = new KeyClient(vault.vaultUrl, new LocalDevelopmentCredential(), keyVaultClientOptions({ caCertPem: vault.caCertPem }));
    const expiresOn = new Date(Math.floor(Date.now() / 1000) * 1000 + 20 * 86_400_000);
    const created = await keys.createEcKey(keyName, { curve: "P-256", keyOps: ["sign", "verify"], expiresOn });
    const signer = signerFor(keyName);
    expect(await signer.expiresAt(created.id!)).toBe(expiresOn.getTime());
    const parsed = parseKeyId(created.id!)!;
    const extended = new Date(expiresOn.getTime() + 90 * 86_400_000);
    await keys.updateKeyProperties(keyName, parsed.version, { expiresOn: extended });
    expect(await signer.expiresAt(created.id!)).toBe(extended.getTime());
    // A version with no expiry at all, and a key that is not the checkpoint key.
    const plain = await keys.createEcKey("cp-no-expiry", { curve: "P-256" });
    expect(await signerFor("cp-no-expiry").expiresAt(plain.id!)).toBeNull();
    await expect(signer.expiresAt(plain.id!)).rejects.toThrow(/not a version of the checkpoint key/);
  });
});
