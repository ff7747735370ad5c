import { type TableClient, type TableEntityResult, TableTransaction } from "@azure/data-tables";
import { EXPIRES_AT_FIELD, holdOf, holdPrefixOf, holdsAnything, HOLD_PREFIX, type ListCountersOptions, type ReclaimedHold } from "../../../core/limits/UsageCounterStore.js";
import { statusCodeOf } from "../../azure/azureErrors.js";
import { type ConflictBackoff } from "./ConflictBackoff.js";
import { readCounterValues, toCounterEntity } from "./counterEntity.js";
import { rowKeyRangeFilter } from "./counterFilters.js";
import { CounterStoreError } from "./CounterStoreError.js";
import { shardRowKey } from "./physicalRows.js";

/**
 * The hold rows of the counter table (one per owner and counter, with an expiry): renewing a live
 * owner's, and giving back the expired ones of dead owners. Every change is made under the row's
 * ETag, so a renewal, the owner's own write and a reclaim never both take effect on stale state.
 */
export class TableHoldRows {
  constructor(
    private readonly client: TableClient,
    private readonly backoff: ConflictBackoff,
    /** This instance's shard: where a reclaimed amount is taken off the counter. */
    private readonly shard: number,
  ) {}

  async renew(partition: string, owner: string, expiresAtMs: number, options: ListCountersOptions = {}): Promise<number> {
    let renewed = 0;
    const filter = rowKeyRangeFilter(partition, holdPrefixOf(owner));
    for await (const entity of this.client.listEntities<TableEntityResult<Record<string, unknown>>>({ queryOptions: { filter }, abortSignal: options.abortSignal })) {
      let current: TableEntityResult<Record<string, unknown>> | null = entity;
      // A conflict means the owner itself wrote the row meanwhile (with a fresh expiry) or it was reclaimed: look again.
      for (let attempt = 0; current !== null && attempt < 5; attempt++) {
        const values = readCounterValues(current);
        if (!holdsAnything(values) || (values[EXPIRES_AT_FIELD] ?? 0) >= expiresAtMs) break;
        try {
          await this.client.updateEntity(toCounterEntity(partition, current.rowKey ?? "", { ...values, [EXPIRES_AT_FIELD]: expiresAtMs }), "Replace", { etag: current.etag });
          renewed++;
          break;
        } catch (error) {
          const status = statusCodeOf(error);
          if (status === 404) break;
          if (status !== 412) throw error;
          current = await this.getRow(partition, current.rowKey ?? "");
        }
      }
    }
    return renewed;
  }

  async reclaimExpired(partition: string, nowInMs: number, options: ListCountersOptions = {}): Promise<ReclaimedHold[]> {
    const reclaimed: ReclaimedHold[] = [];
    const filter = rowKeyRangeFilter(partition, HOLD_PREFIX);
    const expired: string[] = [];
    for await (const entity of this.client.listEntities<TableEntityResult<Record<string, unknown>>>({ queryOptions: { filter }, abortSignal: options.abortSignal })) {
      if ((readCounterValues(entity)[EXPIRES_AT_FIELD] ?? 0) < nowInMs) expired.push(entity.rowKey ?? "");
    }
    for (const rowKey of expired) {
      const hold = await this.reclaimOne(partition, rowKey, nowInMs);
      if (hold !== null) reclaimed.push(hold);
    }
    return reclaimed;
  }

  /**
   * One expired hold: in ONE transaction, its amounts zeroed under its ETag and taken off the
   * counter (this instance's shard row). A renewal or a write by the owner in between changes the
   * ETag, and the round starts again from what is there now. An expired empty hold is deleted
   * (under its ETag too; a transaction cannot delete conditionally, so that is a separate call).
   */
  private async reclaimOne(partition: string, rowKey: string, nowInMs: number): Promise<ReclaimedHold | null> {
    for (let attempt = 1; attempt <= this.backoff.maxAttempts; attempt++) {
      const row = await this.getRow(partition, rowKey);
      if (row === null) return null;
      const values = readCounterValues(row);
      const hold = holdOf({ key: rowKey, values });
      if (hold === null || hold.expiresAtMs >= nowInMs) return null;
      try {
        if (!holdsAnything(hold.values)) {
          await this.client.deleteEntity(partition, rowKey, { etag: row.etag });
          return null;
        }
        const transaction = new TableTransaction();
        const emptied: Record<string, number> = { [EXPIRES_AT_FIELD]: hold.expiresAtMs };
        for (const field of Object.keys(hold.values)) emptied[field] = 0;
        transaction.updateEntity(toCounterEntity(partition, rowKey, emptied), "Replace", { etag: row.etag });
        const shardKey = shardRowKey(hold.key, this.shard);
        const shard = await this.getRow(partition, shardKey);
        const counter: Record<string, number> = shard === null ? {} : readCounterValues(shard);
        for (const [field, amount] of Object.entries(hold.values)) counter[field] = (counter[field] ?? 0) - amount;
        const entity = toCounterEntity(partition, shardKey, counter);
        if (shard === null) transaction.createEntity(entity);
        else transaction.updateEntity(entity, "Replace", { etag: shard.etag });
        await this.client.submitTransaction(transaction.actions);
        return hold;
      } catch (error) {
        const status = statusCodeOf(error);
        if (status !== 412 && status !== 409 && status !== 404) throw error;
        await this.backoff.afterConflict(attempt);
      }
    }
    throw new CounterStoreError(`hold "${rowKey}" in partition "${partition}" kept changing: gave up after ${this.backoff.maxAttempts} attempts`);
  }

  private async getRow(partition: string, rowKey: string): Promise<TableEntityResult<Record<string, unknown>> | null> {
    try {
      return await this.client.getEntity<Record<string, unknown>>(partition, rowKey);
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }
}
