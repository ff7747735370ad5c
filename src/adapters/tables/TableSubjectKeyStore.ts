import { type TableClient } from "@azure/data-tables";
import { KEY_REF_PATTERN, type SubjectKeyStore, type SubjectKeyStoreOptions } from "../../core/privacy/SubjectKeyStore.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

/** Table of per-subject keys: PartitionKey = key reference (HMAC hex), RowKey = "key", `wrappedKey` (base64url). */
export const SUBJECT_KEYS_TABLE = "SubjectKeys";
const ROW_KEY = "key";

export interface TableSubjectKeyStoreOptions {
  /** Create the table on first use (default true; in Azure infra provisions it). */
  readonly createTableIfMissing?: boolean;
}

interface SubjectKeyEntity {
  partitionKey: string;
  rowKey: string;
  wrappedKey: string;
}

export class TableSubjectKeyStore implements SubjectKeyStore {
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableSubjectKeyStoreOptions = {},
  ) {}

  async get(keyRef: string, options: SubjectKeyStoreOptions = {}): Promise<string | null> {
    if (!KEY_REF_PATTERN.test(keyRef)) return null;
    await this.ready();
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(keyRef, ROW_KEY, { abortSignal: options.abortSignal });
      return typeof entity.wrappedKey === "string" ? entity.wrappedKey : null;
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  async getOrCreate(keyRef: string, wrappedKey: string, options: SubjectKeyStoreOptions = {}): Promise<string> {
    assertRef(keyRef);
    await this.ready();
    const entity: SubjectKeyEntity = { partitionKey: keyRef, rowKey: ROW_KEY, wrappedKey };
    try {
      await this.table.createEntity(entity, { abortSignal: options.abortSignal });
      return wrappedKey;
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
    // Another instance stored this subject's key first: use that one.
    const stored = await this.get(keyRef, options);
    if (stored === null) throw new Error("a subject key was created and removed concurrently; retry");
    return stored;
  }

  async delete(keyRef: string, options: SubjectKeyStoreOptions = {}): Promise<boolean> {
    if (!KEY_REF_PATTERN.test(keyRef)) return false;
    await this.ready();
    try {
      await this.table.deleteEntity(keyRef, ROW_KEY, { abortSignal: options.abortSignal });
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) return false;
      throw error;
    }
  }

}

function assertRef(keyRef: string): void {
  if (!KEY_REF_PATTERN.test(keyRef)) throw new RangeError("subject key references are 64 lowercase hex characters");
}
