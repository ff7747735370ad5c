import { createHash } from "node:crypto";
import { type TableClient, odata } from "@azure/data-tables";
import { type Clock } from "../../core/clock.js";
import { type PurgeExpiredOptions, type StoredResponseOwner, type StoredResponseOwners } from "../../core/gateway/operations/responses/StoredResponseOwners.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

export const STORED_RESPONSE_OWNERS_TABLE = "StoredResponseOwners";

interface OwnerEntity {
  partitionKey: string;
  rowKey: string;
  projectId: string;
  model?: string;
  endpointId?: string;
  /** When the record stops counting (the clock at the insert, plus the retention). */
  expiresAt?: Date;
  /** Set by the service on insert (rows are never updated): dates a row written before rows had `expiresAt`. */
  timestamp?: string;
}

/** Rows deleted at once; a page of the expired-rows query is at most this long. */
const DELETE_CONCURRENCY = 16;
const PAGE_SIZE = 100;

export interface TableStoredResponseOwnersOptions {
  readonly clock: Clock;
  /** A record expires this long after it was made. */
  readonly retentionInMs: number;
  /** Create the table on first use (default true; in Azure infra/ provisions it). */
  readonly createTableIfMissing?: boolean;
}

/**
 * StoredResponseOwners on Azure Table Storage, table `StoredResponseOwners`: one small row per stored
 * Response. RowKey is the SHA-256 of the Response id (any id fits a key, and the id itself is not
 * kept); PartitionKey its first two hex digits, so rows spread over 256 partitions. The row holds the
 * project id, the model name and the endpoint id (names, no content), and when it expires (`expiresAt`, the retention after it was made; a retention changed
 * later applies to new rows). Written with an insert: the first record stands (409 on a repeat is
 * fine). Table Storage has no TTL: an expired row is read as absent, and `purgeExpired` deletes it (a
 * query over the whole table, in pages). A row written before rows had `expiresAt` expires the
 * retention after its Timestamp, and is purged the same way.
 */
export class TableStoredResponseOwners implements StoredResponseOwners {
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableStoredResponseOwnersOptions,
  ) {}

  async record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    await this.ready();
    const entity: OwnerEntity = { ...keysOf(responseId), projectId: owner.projectId, expiresAt: new Date(this.options.clock.nowInMs() + this.options.retentionInMs) };
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
      const entity = await this.table.getEntity<OwnerEntity>(partitionKey, rowKey, { queryOptions: { select: ["projectId", "model", "endpointId", "expiresAt", "Timestamp"] } });
      if (this.expired(entity) || typeof entity.projectId !== "string") return null;
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

  /** Forgets `responseId` (once the upstream deleted it); no record is fine. */
  async forget(responseId: string): Promise<void> {
    await this.ready();
    const { partitionKey, rowKey } = keysOf(responseId);
    await this.delete(partitionKey, rowKey);
  }

  async purgeExpired({ maxRows }: PurgeExpiredOptions): Promise<number> {
    if (maxRows <= 0) return 0;
    await this.ready();
    const nowInMs = this.options.clock.nowInMs();
    // Rows past their expiresAt, and rows older than the retention (those without expiresAt among them; each is checked below).
    const filter = odata`expiresAt le ${new Date(nowInMs)} or Timestamp le ${new Date(nowInMs - this.options.retentionInMs)}`;
    const pages = this.table.listEntities<OwnerEntity>({ queryOptions: { filter, select: ["PartitionKey", "RowKey", "expiresAt", "Timestamp"] } }).byPage({ maxPageSize: Math.min(PAGE_SIZE, maxRows) });
    let deleted = 0;
    for await (const page of pages) {
      const rows = page.filter((row) => this.expired(row)).slice(0, maxRows - deleted);
      for (let at = 0; at < rows.length; at += DELETE_CONCURRENCY) await Promise.all(rows.slice(at, at + DELETE_CONCURRENCY).map((row) => this.delete(row.partitionKey, row.rowKey)));
      deleted += rows.length;
      if (deleted >= maxRows) break;
    }
    return deleted;
  }

  /** Past its expiresAt; a row without one, the retention after its Timestamp; one with neither readable: expired (refused, not trusted for ever). */
  private expired(row: Pick<OwnerEntity, "expiresAt" | "timestamp">): boolean {
    const nowInMs = this.options.clock.nowInMs();
    if (row.expiresAt instanceof Date) return row.expiresAt.getTime() <= nowInMs;
    const writtenAtInMs = typeof row.timestamp === "string" ? Date.parse(row.timestamp) : Number.NaN;
    return !(writtenAtInMs + this.options.retentionInMs > nowInMs);
  }

  private async delete(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
    } catch (error) {
      // Deleted by another instance's run meanwhile: gone either way.
      if (statusCodeOf(error) !== 404) throw error;
    }
  }
}

function keysOf(responseId: string): { partitionKey: string; rowKey: string } {
  const rowKey = createHash("sha256").update(responseId, "utf8").digest("hex");
  return { partitionKey: rowKey.slice(0, 2), rowKey };
}
