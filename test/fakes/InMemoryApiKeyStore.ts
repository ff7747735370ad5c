import {
  type ApiKeyRecord,
  ApiKeyAlreadyExistsError,
  type ApiKeyStore,
  type ListApiKeysOptions,
} from "../../src/core/auth/ApiKeyStore.js";

/** The in-memory ApiKeyStore; passes the same contract suite as TableApiKeyStore. */
export class InMemoryApiKeyStore implements ApiKeyStore {
  private readonly records = new Map<string, ApiKeyRecord>();
  /** How many get() calls were made (to observe caching). */
  gets = 0;

  async create(record: ApiKeyRecord): Promise<void> {
    if (this.records.has(record.keyId)) throw new ApiKeyAlreadyExistsError(record.keyId);
    this.records.set(record.keyId, { ...record });
  }

  async get(keyId: string): Promise<ApiKeyRecord | null> {
    this.gets += 1;
    const record = this.records.get(keyId);
    return record === undefined ? null : { ...record };
  }

  async *list(options: ListApiKeysOptions = {}): AsyncIterable<ApiKeyRecord> {
    for (const record of [...this.records.values()]) {
      if (options.project !== undefined && record.project !== options.project) continue;
      if (options.serviceAccount !== undefined && record.serviceAccount !== options.serviceAccount) continue;
      yield { ...record };
    }
  }

  async revoke(keyId: string, atInMs: number): Promise<ApiKeyRecord | null> {
    const record = this.records.get(keyId);
    if (record === undefined) return null;
    if (record.revokedAtInMs !== null) return { ...record };
    const revoked = { ...record, revokedAtInMs: atInMs };
    this.records.set(keyId, revoked);
    return { ...revoked };
  }
}
