import { type TableClient, TableTransaction } from "@azure/data-tables";
import { type Clock } from "../../core/clock.js";
import { type PurgeExpiredOptions, type StoredResponseOwner, type StoredResponseOwners } from "../../core/gateway/operations/responses/StoredResponseOwners.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";
import { expiryRowKeyOf, ownerKeysOf } from "./storedResponseOwners/ownerRowKeys.js";
import { deleteRows, purgeExpiredOwnerRows } from "./storedResponseOwners/purgeExpiredOwnerRows.js";
import { type LegacyOwnerRow, sweepLegacyOwnerRows } from "./storedResponseOwners/sweepLegacyOwnerRows.js";

export const STORED_RESPONSE_OWNERS_TABLE = "StoredResponseOwners";

interface OwnerEntity {
  partitionKey: string;
  rowKey: string;
  projectId: string;
  model?: string;
  endpointId?: string;
  /** When the record stops counting (the clock at the insert, plus the retention). */
  expiresAt?: Date;
  /** The row has its expiry row; rows written before expiry rows existed lack it (sweepLegacyOwnerRows). */
  indexed?: boolean;
  /** Set by the service: dates a row written before rows had `expiresAt` (such rows are never updated but by the sweep, which adds `expiresAt`). */
  timestamp?: string;
}

export interface TableStoredResponseOwnersOptions {
  readonly clock: Clock;
  /** A record expires this long after it was made. */
  readonly retentionInMs: number;
  /** Create the table on first use (default true; in Azure infra/ provisions it). */
  readonly createTableIfMissing?: boolean;
}

/**
 * StoredResponseOwners on Azure Table Storage, table `StoredResponseOwners`: one small owner row per
 * stored Response (the project id, the model name and the endpoint id: names, no content; and
 * `expiresAt`, the retention after it was made), keyed by the SHA-256 of the Response id (any id fits
 * a key, and the id itself is not kept), and beside it an expiry row keyed by the hour it expires in
 * (ownerRowKeys.ts). The two are inserted in one transaction: the first record stands (409 on a
 * repeat is fine), and no owner row is ever without its expiry row. Table Storage has no TTL: an
 * expired row is read as absent, and `purgeExpired` deletes the pairs whose hour came, reading by key
 * what expired rather than the whole table. Rows written by earlier builds (no expiry row; session 12's
 * without `expiresAt`, expiring the retention after their Timestamp) are read, expire and are purged
 * the same way: a bounded sweep gives them expiry rows (sweepLegacyOwnerRows.ts).
 */
export class TableStoredResponseOwners implements StoredResponseOwners {
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableStoredResponseOwnersOptions,
  ) {}

  async record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    await this.ready();
    const { partitionKey, rowKey } = ownerKeysOf(responseId);
    const expiresAtInMs = this.options.clock.nowInMs() + this.options.retentionInMs;
    const expiresAt = new Date(expiresAtInMs);
    const entity: OwnerEntity = { partitionKey, rowKey, projectId: owner.projectId, expiresAt, indexed: true };
    if (owner.model !== undefined) entity.model = owner.model;
    if (owner.endpointId !== undefined) entity.endpointId = owner.endpointId;
    const transaction = new TableTransaction();
    transaction.createEntity(entity);
    transaction.createEntity({ partitionKey, rowKey: expiryRowKeyOf(rowKey, expiresAtInMs), expiresAt });
    try {
      await this.table.submitTransaction(transaction.actions);
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
  }

  async ownerOf(responseId: string): Promise<StoredResponseOwner | null> {
    await this.ready();
    const { partitionKey, rowKey } = ownerKeysOf(responseId);
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

  /** Forgets `responseId` (once the upstream deleted it) with its expiry row; no record is fine. */
  async forget(responseId: string): Promise<void> {
    await this.ready();
    const { partitionKey, rowKey } = ownerKeysOf(responseId);
    let entity: OwnerEntity;
    try {
      entity = await this.table.getEntity<OwnerEntity>(partitionKey, rowKey, { queryOptions: { select: ["expiresAt", "indexed"] } });
    } catch (error) {
      if (statusCodeOf(error) === 404) return;
      throw error;
    }
    const rowKeys = entity.indexed === true && entity.expiresAt instanceof Date ? [rowKey, expiryRowKeyOf(rowKey, entity.expiresAt.getTime())] : [rowKey];
    await deleteRows(this.table, partitionKey, rowKeys);
  }

  async purgeExpired({ maxRows }: PurgeExpiredOptions): Promise<number> {
    if (maxRows <= 0) return 0;
    await this.ready();
    const deleted = await purgeExpiredOwnerRows(this.table, this.options.clock.nowInMs(), maxRows);
    return (
      deleted +
      (await sweepLegacyOwnerRows(this.table, {
        maxRowsRead: maxRows,
        maxDeletes: maxRows - deleted,
        isExpired: (row) => this.expired(row),
        expiresAtOf: (row) => this.expiresAtOf(row),
      }))
    );
  }

  /** Past its expiresAt (or, without one, the retention after its Timestamp); a row with neither readable: expired (refused, not trusted for ever). */
  private expired(row: LegacyOwnerRow): boolean {
    return !(this.expiresAtOf(row) > this.options.clock.nowInMs());
  }

  private expiresAtOf(row: LegacyOwnerRow): number {
    if (row.expiresAt instanceof Date) return row.expiresAt.getTime();
    return (typeof row.timestamp === "string" ? Date.parse(row.timestamp) : Number.NaN) + this.options.retentionInMs;
  }
}
