import { type TableClient, type TableEntityResult, odata } from "@azure/data-tables";
import {
  type ApiKeyRecord,
  ApiKeyAlreadyExistsError,
  type ApiKeyStore,
  type GetApiKeyOptions,
  type ListApiKeysOptions,
  type RevokeApiKeyOptions,
} from "../../core/auth/ApiKeyStore.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

/**
 * API key records in Azure Table Storage, table `ApiKeys`. One row per key:
 * PartitionKey = key id, RowKey = "apikey". Verification, on every request, is then a point read
 * (the cheapest Table operation) and keys spread over partitions. Listing is a (rare, operator-only)
 * table scan, filtered by project and service account on the server.
 * Only the secret's hash is stored. Revocation merges `revokedAtInMs` with If-Match on the row's ETag.
 */
export const API_KEYS_TABLE = "ApiKeys";
const ROW_KEY = "apikey";
const REVOKE_ATTEMPTS = 5;
/** Characters Table Storage forbids in keys, plus control characters. */
const SAFE_KEY = /^[A-Za-z0-9_-]{1,128}$/;

interface ApiKeyEntity {
  partitionKey: string;
  rowKey: string;
  secretHash: string;
  project: string;
  serviceAccount: string;
  createdAtInMs: number;
  expiresAtInMs: number;
  revokedAtInMs?: number;
}

export interface TableApiKeyStoreOptions {
  /** Create the table on first use (default true). */
  readonly createTableIfMissing?: boolean;
}

function toRecord(entity: TableEntityResult<Record<string, unknown>>): ApiKeyRecord {
  const { partitionKey, secretHash, project, serviceAccount, createdAtInMs, expiresAtInMs, revokedAtInMs } = entity;
  if (
    typeof partitionKey !== "string" ||
    typeof secretHash !== "string" ||
    typeof project !== "string" ||
    typeof serviceAccount !== "string" ||
    typeof createdAtInMs !== "number" ||
    typeof expiresAtInMs !== "number" ||
    (revokedAtInMs !== undefined && revokedAtInMs !== null && typeof revokedAtInMs !== "number")
  ) {
    throw new Error(`${API_KEYS_TABLE} row ${String(partitionKey)} is malformed`);
  }
  return {
    keyId: partitionKey,
    secretHash,
    project,
    serviceAccount,
    createdAtInMs,
    expiresAtInMs,
    revokedAtInMs: typeof revokedAtInMs === "number" ? revokedAtInMs : null,
  };
}

export class TableApiKeyStore implements ApiKeyStore {
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableApiKeyStoreOptions = {},
  ) {}

  async create(record: ApiKeyRecord, options: GetApiKeyOptions = {}): Promise<void> {
    if (!SAFE_KEY.test(record.keyId)) throw new Error("keyId has characters Table Storage does not allow");
    await this.ready();
    const entity: ApiKeyEntity = {
      partitionKey: record.keyId,
      rowKey: ROW_KEY,
      secretHash: record.secretHash,
      project: record.project,
      serviceAccount: record.serviceAccount,
      createdAtInMs: record.createdAtInMs,
      expiresAtInMs: record.expiresAtInMs,
      ...(record.revokedAtInMs === null ? {} : { revokedAtInMs: record.revokedAtInMs }),
    };
    try {
      await this.table.createEntity(entity, { abortSignal: options.abortSignal });
    } catch (error) {
      if (statusCodeOf(error) === 409) throw new ApiKeyAlreadyExistsError(record.keyId);
      throw error;
    }
  }

  async get(keyId: string, options: GetApiKeyOptions = {}): Promise<ApiKeyRecord | null> {
    const entity = await this.read(keyId, options.abortSignal);
    return entity === null ? null : toRecord(entity);
  }

  async *list(options: ListApiKeysOptions = {}): AsyncIterable<ApiKeyRecord> {
    await this.ready();
    const clauses = [odata`RowKey eq ${ROW_KEY}`];
    if (options.project !== undefined) clauses.push(odata`project eq ${options.project}`);
    if (options.serviceAccount !== undefined) clauses.push(odata`serviceAccount eq ${options.serviceAccount}`);
    const entities = this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: clauses.join(" and ") },
      abortSignal: options.abortSignal,
    });
    for await (const entity of entities) yield toRecord(entity);
  }

  async revoke(keyId: string, atInMs: number, options: RevokeApiKeyOptions = {}): Promise<ApiKeyRecord | null> {
    for (let attempt = 1; attempt <= REVOKE_ATTEMPTS; attempt += 1) {
      const entity = await this.read(keyId, options.abortSignal);
      if (entity === null) return null;
      const record = toRecord(entity);
      if (record.revokedAtInMs !== null) return record;
      try {
        await this.table.updateEntity(
          { partitionKey: keyId, rowKey: ROW_KEY, revokedAtInMs: atInMs },
          "Merge",
          { etag: entity.etag, abortSignal: options.abortSignal },
        );
        return { ...record, revokedAtInMs: atInMs };
      } catch (error) {
        const status = statusCodeOf(error);
        // 412: someone else changed the row; read it again. 404: deleted meanwhile.
        if (status === 404) return null;
        if (status !== 412) throw error;
      }
    }
    throw new Error(`revoking API key ${keyId} kept conflicting with concurrent writers; retry`);
  }

  private async read(keyId: string, abortSignal: AbortSignal | undefined): Promise<TableEntityResult<Record<string, unknown>> | null> {
    if (!SAFE_KEY.test(keyId)) return null;
    await this.ready();
    try {
      return await this.table.getEntity<Record<string, unknown>>(keyId, ROW_KEY, { abortSignal });
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

}
