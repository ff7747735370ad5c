/** A stored Palisade API key: only a hash of the secret, never the secret. */
export interface ApiKeyRecord {
  /** Public id, the middle part of `pal_<keyId>_<secret>`; safe to show and log. */
  readonly keyId: string;
  /** Hex SHA-256 of the secret with a domain prefix (see hashApiKeySecret). */
  readonly secretHash: string;
  readonly project: string;
  readonly serviceAccount: string;
  readonly createdAtInMs: number;
  readonly expiresAtInMs: number;
  readonly revokedAtInMs: number | null;
}

export interface GetApiKeyOptions {
  readonly abortSignal?: AbortSignal;
}

export interface ListApiKeysOptions {
  /** Only the keys of this project. */
  readonly project?: string;
  /** Only the keys of this service account. */
  readonly serviceAccount?: string;
  readonly abortSignal?: AbortSignal;
}

export interface RevokeApiKeyOptions {
  readonly abortSignal?: AbortSignal;
}

/** Thrown by ApiKeyStore.create when the key id is taken. Checked by name. */
export class ApiKeyAlreadyExistsError extends Error {
  override readonly name = "ApiKeyAlreadyExistsError";
  constructor(readonly keyId: string) {
    super(`an API key with id ${keyId} already exists`);
  }
}

export function isApiKeyAlreadyExistsError(value: unknown): value is ApiKeyAlreadyExistsError {
  return value instanceof Error && value.name === "ApiKeyAlreadyExistsError";
}

/** Where API key records live (Azure Table Storage in production). */
export interface ApiKeyStore {
  /** Stores a new record; rejects with ApiKeyAlreadyExistsError if the key id exists. */
  create(record: ApiKeyRecord, options?: GetApiKeyOptions): Promise<void>;
  /** The record, or null when there is none. */
  get(keyId: string, options?: GetApiKeyOptions): Promise<ApiKeyRecord | null>;
  /** Every record matching the filter, in no particular order. */
  list(options?: ListApiKeysOptions): AsyncIterable<ApiKeyRecord>;
  /**
   * Marks the key revoked at `atInMs` and returns the record; null when there is no such key.
   * Idempotent: revoking a revoked key keeps the first revocation time. Safe against concurrent
   * writers (optimistic concurrency on the row).
   */
  revoke(keyId: string, atInMs: number, options?: RevokeApiKeyOptions): Promise<ApiKeyRecord | null>;
}
