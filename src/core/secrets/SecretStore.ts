/**
 * Where Palisade keeps secret material: upstream API keys under rotation, the audit digest key.
 * Key Vault in Azure (KeyVaultSecretStore), a fake in tests (InMemorySecretStore). Times are epoch
 * milliseconds but Key Vault keeps whole seconds, so every time comes back truncated to a second.
 */

export interface SecretVersion {
  readonly name: string;
  /** 32 lowercase hex characters. */
  readonly version: string;
  readonly value: string;
  readonly enabled: boolean;
  readonly expiresAtInMs: number | null;
  readonly notBeforeInMs: number | null;
  readonly createdAtInMs: number;
  readonly updatedAtInMs: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly contentType: string | null;
}

export type SecretVersionProperties = Omit<SecretVersion, "value">;

/** The latest version's properties; Key Vault's list does not say which version that is. */
export type SecretSummary = Omit<SecretVersionProperties, "version">;

export interface GetSecretOptions {
  /** A specific version; the latest when absent. */
  readonly version?: string;
  readonly abortSignal?: AbortSignal;
}

export interface SetSecretOptions {
  readonly tags?: Record<string, string>;
  readonly expiresAtInMs?: number;
  readonly notBeforeInMs?: number;
  readonly contentType?: string;
  /** true unless told. */
  readonly enabled?: boolean;
  readonly abortSignal?: AbortSignal;
}

/** What updateSecretProperties may change; absent fields stay as they are. */
export interface SecretPropertiesPatch {
  readonly enabled?: boolean;
  readonly expiresAtInMs?: number;
  readonly notBeforeInMs?: number;
  /** Replaces the version's tags as a whole. */
  readonly tags?: Record<string, string>;
  readonly contentType?: string;
}

export interface UpdateSecretPropertiesOptions {
  readonly abortSignal?: AbortSignal;
}

export interface ListSecretsOptions {
  readonly abortSignal?: AbortSignal;
}

export interface SecretStore {
  /**
   * The value and properties of the latest (or the given) version; null when the secret or version
   * does not exist. A disabled version throws SecretDisabledError. An expired one is returned, as
   * Key Vault does: check `isUsable` before trusting it.
   */
  getSecret(name: string, options?: GetSecretOptions): Promise<SecretVersion | null>;
  /** Adds a new version, which becomes the latest. */
  setSecret(name: string, value: string, options?: SetSecretOptions): Promise<SecretVersionProperties>;
  /** Throws SecretStoreError `secret_not_found` when the version does not exist. */
  updateSecretProperties(
    name: string,
    version: string,
    patch: SecretPropertiesPatch,
    options?: UpdateSecretPropertiesOptions,
  ): Promise<SecretVersionProperties>;
  /** Every version of one secret, oldest first where the store knows the order; empty when missing. */
  listSecretVersions(name: string, options?: ListSecretsOptions): AsyncIterable<SecretVersionProperties>;
  /** The latest version's properties of every secret. */
  listSecrets(options?: ListSecretsOptions): AsyncIterable<SecretSummary>;
}
