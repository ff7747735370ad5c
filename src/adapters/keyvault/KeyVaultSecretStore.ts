import type { TokenCredential } from "@azure/identity";
import { type SecretProperties, SecretClient } from "@azure/keyvault-secrets";
import type {
  GetSecretOptions,
  ListSecretsOptions,
  SecretPropertiesPatch,
  SecretStore,
  SecretSummary,
  SecretVersion,
  SecretVersionProperties,
  SetSecretOptions,
  UpdateSecretPropertiesOptions,
} from "../../core/secrets/SecretStore.js";
import { SecretDisabledError, SecretStoreError, secretNotFound } from "../../core/secrets/secretErrors.js";
import { assertValidSecretName } from "../../core/secrets/secretName.js";
import { type KeyVaultClientSettings, keyVaultClientOptions } from "./keyVaultClientOptions.js";

/** SecretStore on Azure Key Vault (or the local emulator) through `SecretClient`. */
export class KeyVaultSecretStore implements SecretStore {
  constructor(private readonly client: SecretClient) {}

  static fromVaultUrl(vaultUrl: string, credential: TokenCredential, settings: KeyVaultClientSettings = {}): KeyVaultSecretStore {
    return new KeyVaultSecretStore(new SecretClient(vaultUrl, credential, keyVaultClientOptions(settings)));
  }

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretVersion | null> {
    assertValidSecretName(name);
    try {
      const secret = await this.client.getSecret(name, { version: options.version, abortSignal: options.abortSignal });
      if (secret.value === undefined) throw new SecretStoreError("secret_store_failed", `Key Vault returned secret "${name}" without a value.`);
      return { ...toVersionProperties(secret.properties), value: secret.value };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return null;
      // Key Vault says 403 both for a disabled secret and for a caller without access; only the
      // message tells them apart (the inner error code is not surfaced by the SDK).
      if (status === 403 && error instanceof Error && /disabled/i.test(error.message)) {
        throw new SecretDisabledError(name, options.version ?? null);
      }
      throw toStoreError(error, "get", name);
    }
  }

  async setSecret(name: string, value: string, options: SetSecretOptions = {}): Promise<SecretVersionProperties> {
    assertValidSecretName(name);
    try {
      const secret = await this.client.setSecret(name, value, {
        tags: options.tags,
        contentType: options.contentType,
        enabled: options.enabled,
        expiresOn: options.expiresAtInMs === undefined ? undefined : new Date(options.expiresAtInMs),
        notBefore: options.notBeforeInMs === undefined ? undefined : new Date(options.notBeforeInMs),
        abortSignal: options.abortSignal,
      });
      return toVersionProperties(secret.properties);
    } catch (error) {
      // The SDK's error holds the request, whose body holds the value: never pass it on.
      throw toStoreError(error, "set", name);
    }
  }

  async updateSecretProperties(
    name: string,
    version: string,
    patch: SecretPropertiesPatch,
    options: UpdateSecretPropertiesOptions = {},
  ): Promise<SecretVersionProperties> {
    assertValidSecretName(name);
    if (version === "") throw secretNotFound(name, version);
    try {
      const properties = await this.client.updateSecretProperties(name, version, {
        enabled: patch.enabled,
        expiresOn: patch.expiresAtInMs === undefined ? undefined : new Date(patch.expiresAtInMs),
        notBefore: patch.notBeforeInMs === undefined ? undefined : new Date(patch.notBeforeInMs),
        tags: patch.tags,
        contentType: patch.contentType,
        abortSignal: options.abortSignal,
      });
      return toVersionProperties(properties);
    } catch (error) {
      if (statusOf(error) === 404) throw secretNotFound(name, version);
      throw toStoreError(error, "update", name);
    }
  }

  async *listSecretVersions(name: string, options: ListSecretsOptions = {}): AsyncIterable<SecretVersionProperties> {
    assertValidSecretName(name);
    try {
      for await (const properties of this.client.listPropertiesOfSecretVersions(name, { abortSignal: options.abortSignal })) {
        yield toVersionProperties(properties);
      }
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStoreError(error, "list versions", name);
    }
  }

  async *listSecrets(options: ListSecretsOptions = {}): AsyncIterable<SecretSummary> {
    try {
      for await (const properties of this.client.listPropertiesOfSecrets({ abortSignal: options.abortSignal })) {
        const { version: _version, ...summary } = toVersionProperties({ ...properties, version: properties.version ?? "" });
        yield summary;
      }
    } catch (error) {
      throw toStoreError(error, "list", null);
    }
  }
}

function toVersionProperties(properties: SecretProperties): SecretVersionProperties {
  if (properties.version === undefined) {
    throw new SecretStoreError("secret_store_failed", `Key Vault returned secret "${properties.name}" without a version.`);
  }
  return {
    name: properties.name,
    version: properties.version,
    enabled: properties.enabled ?? true,
    expiresAtInMs: properties.expiresOn?.getTime() ?? null,
    notBeforeInMs: properties.notBefore?.getTime() ?? null,
    createdAtInMs: properties.createdOn?.getTime() ?? 0,
    updatedAtInMs: properties.updatedOn?.getTime() ?? properties.createdOn?.getTime() ?? 0,
    tags: { ...properties.tags },
    contentType: properties.contentType ?? null,
  };
}

function statusOf(error: unknown): number | null {
  if (typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number") {
    return error.statusCode;
  }
  return null;
}

function codeOf(error: unknown): string | null {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  return null;
}

/**
 * A SecretStoreError carrying status and code only: the SDK's error holds the request (its headers
 * and, for set, the value), so it is not kept as the cause. Aborts and our own errors pass through.
 */
function toStoreError(error: unknown, operation: string, name: string | null): Error {
  if (error instanceof Error && (error.name === "AbortError" || error instanceof SecretStoreError)) return error;
  const status = statusOf(error);
  const code = codeOf(error) ?? (error instanceof Error ? error.name : "unknown");
  const target = name === null ? "" : ` of secret "${name}"`;
  const hint =
    status === 401 || status === 403
      ? "Check the app's identity has the Key Vault Secrets role on this vault."
      : "Check AZURE_KEYVAULT_URL and that the vault is reachable.";
  return new SecretStoreError(
    "secret_store_failed",
    `Key Vault ${operation}${target} failed (${status === null ? "no response" : `status ${status}`}, ${code}). ${hint}`,
    status,
  );
}
