import { createHash } from "node:crypto";
import { type TableClient } from "@azure/data-tables";
import { type StoredResponseOwner, type StoredResponseOwners } from "../../core/gateway/operations/responses/StoredResponseOwners.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

export const STORED_RESPONSE_OWNERS_TABLE = "StoredResponseOwners";

interface OwnerEntity {
  partitionKey: string;
  rowKey: string;
  projectId: string;
  model?: string;
  endpointId?: string;
}

export interface TableStoredResponseOwnersOptions {
  /** Create the table on first use (default true; in Azure infra/ provisions it). */
  readonly createTableIfMissing?: boolean;
}

/**
 * StoredResponseOwners on Azure Table Storage, table `StoredResponseOwners`: one small row per stored
 * Response. RowKey is the SHA-256 of the Response id (any id fits a key, and the id itself is not
 * kept); PartitionKey its first two hex digits, so rows spread over 256 partitions. The row holds the
 * project id, the model name and the endpoint id (names, no content). Written with an insert: the
 * first record stands (409 on a repeat is fine).
 */
export class TableStoredResponseOwners implements StoredResponseOwners {
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableStoredResponseOwnersOptions = {},
  ) {}

  async record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    await this.ready();
    const entity: OwnerEntity = { ...keysOf(responseId), projectId: owner.projectId };
    if (owner.model !== undefined) entity.model = owner.model;
    if (owner.endpointId !== undefined) entity.endpointId = owner.endpointId;
    try {
      await this.table.createEntity(entity);
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
  }

  async ownerOf(responseId: string): Promise<StoredResponseOwner | null> {
    await this.ready();
    const { partitionKey, rowKey } = keysOf(responseId);
    try {
      const entity = await this.table.getEntity<OwnerEntity>(partitionKey, rowKey, { queryOptions: { select: ["projectId", "model", "endpointId"] } });
      if (typeof entity.projectId !== "string") return null;
      return {
        projectId: entity.projectId,
        ...(typeof entity.model === "string" ? { model: entity.model } : {}),
        ...(typeof entity.endpointId === "string" ? { endpointId: entity.endpointId } : {}),
      };
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  async forget(responseId: string): Promise<void> {
    await this.ready();
    const { partitionKey, rowKey } = keysOf(responseId);
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }
}

/** A row's keys for `responseId`. */
function keysOf(responseId: string): { partitionKey: string; rowKey: string } {
  const rowKey = createHash("sha256").update(responseId, "utf8").digest("hex");
  return { partitionKey: rowKey.slice(0, 2), rowKey };
}
