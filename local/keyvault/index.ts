/**
 * The local Key Vault: an HTTPS server that the unmodified `@azure/keyvault-secrets` and
 * `@azure/keyvault-keys` SDKs talk to. See docs/emulators/keyvault.md for what it does and does not do.
 */
export { startKeyVaultEmulator, type KeyVaultEmulatorOptions, type RunningKeyVaultEmulator } from "./server.js";
