import { startKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { KeyVaultSecretStore } from "../../../src/adapters/keyvault/KeyVaultSecretStore.js";
import { createCredential } from "../../../src/adapters/identity/createCredential.js";
import { describeSecretStoreContract } from "../../contracts/secretStore.contract.js";

describeSecretStoreContract("KeyVaultSecretStore on the local Key Vault emulator", async () => {
  const emulator = await startKeyVaultEmulator();
  const store = KeyVaultSecretStore.fromVaultUrl(emulator.vaultUrl, createCredential({ local: true }), {
    caCertPem: emulator.caCertPem,
  });
  return { store, nowInMs: () => Date.now(), stop: () => emulator.stop() };
});
