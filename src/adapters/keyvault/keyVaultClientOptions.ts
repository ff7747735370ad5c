import type { KeyClientOptions } from "@azure/keyvault-keys";
import type { SecretClientOptions } from "@azure/keyvault-secrets";

/** Options accepted by SecretClient, KeyClient and CryptographyClient alike. */
export type KeyVaultClientOptions = Pick<SecretClientOptions, "disableChallengeResourceVerification" | "tlsOptions"> &
  Pick<KeyClientOptions, "disableChallengeResourceVerification" | "tlsOptions">;

export interface KeyVaultClientSettings {
  /** PEM of the local emulator's certificate (AZURE_KEYVAULT_CA_CERT's content); absent in Azure. */
  readonly caCertPem?: string;
}

// The SDK caches one keep-alive https.Agent per tlsOptions object, so hand out one object per CA.
const tlsOptionsByCa = new Map<string, { readonly ca: string }>();

/**
 * Production defaults without a CA. With the emulator's CA, that CA is trusted by these clients only
 * (never by turning verification off), and the challenge resource check is skipped because the
 * emulator's host is not *.vault.azure.net.
 */
export function keyVaultClientOptions(settings: KeyVaultClientSettings): KeyVaultClientOptions {
  const ca = settings.caCertPem;
  if (ca === undefined || ca.trim() === "") return {};
  let tlsOptions = tlsOptionsByCa.get(ca);
  if (tlsOptions === undefined) {
    tlsOptions = { ca };
    tlsOptionsByCa.set(ca, tlsOptions);
  }
  return { disableChallengeResourceVerification: true, tlsOptions };
}
