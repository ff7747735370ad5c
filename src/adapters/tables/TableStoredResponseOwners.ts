import { createHash } from "node:crypto";
import { type TableClient } from "@azure/data-tables";
import { type StoredResponseOwners } from "../../core/gateway/operations/responses/StoredResponseOwners.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

export const STORED_RESPONSE_OWNERS_TABLE = "StoredResponseOwners";

interface OwnerEntity {
  partitionKey: string;
  rowKey: string;
  projectId: string;
}

export interface TableStoredResponseOwnersOptions {
  /** Create the table on first use (default true; in Azure infra/ provisions it). */
  readonly createTableIfMissing?: boolean;
}

/**
 * StoredResponseOwners on Azure Table Storage, table `StoredResponseOwners`: one small row per stored
 * Response. RowKey is the SHA-256 of the Response id (any id fits a key, and the id itself is not
 * kept); PartitionKey its first two hex digits, so rows spread over 256 partitions. The row holds the
 * project id only. Written with an insert: the first record stands (409 on a repeat is fine).
 */
export class TableStoredResponseOwners implements StoredResponseOwners {
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableStoredResponseOwnersOptions = {},
  ) {}

  async record(responseId: string, projectId: string): Promise<void> {
    await this.ready();
    const entity: OwnerEntity = { ...keysOf(responseId), projectId };
    try {
      await this.table.createEntity(entity);
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
  }

  async ownerOf(responseId: string): Promise<string | null> {
    await this.ready();
    const { partitionKey, rowKey } = keysOf(responseId);
    try {
      const entity = await this.table.getEntity<OwnerEntity>(partitionKey, rowKey, { queryOptions: { select: ["projectId"] } });
      return typeof entity.projectId === "string" ? entity.projectId : null;
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }
}

function keysOf(responseId: string): { partitionKey: string; rowKey: string } {
  const rowKey = createHash("sha256").update(responseId, "utf8").digest("hex");
  return { partitionKey: rowKey.slice(0, 2), rowKey };
}
