import { type TableClient, type TableEntity, type TableEntityResult, TableTransaction } from "@azure/data-tables";
import {
  addDeltas,
  type ApplyCountersOptions,
  type ApplyCountersResult,
  type CounterDelta,
  type CounterRow,
  type CounterValues,
  EXPIRES_AT_FIELD,
  expandHolds,
  holdOf,
  holdPrefixOf,
  holdsAnything,
  HOLD_PREFIX,
  isHoldKey,
  type ListCountersOptions,
  MAX_COUNTERS_PER_APPLY,
  type ReclaimedHold,
  refusedKeys,
  touchedKeys,
  type UsageCounterStore,
} from "../../core/limits/UsageCounterStore.js";
import { readCounterValues, toCounterEntity } from "./usage/counterEntity.js";
import { LOGICAL_KEYS_PER_FILTER, logicalRowsFilter, rowKeyRangeFilter } from "./usage/counterFilters.js";
import { addValues, logicalKeyOf, SHARD_SEPARATOR, shardRowKey } from "./usage/physicalRows.js";
import { statusCodeOf } from "../azure/azureErrors.js";

/**
 * The counter store on Azure Table Storage (table `UsageCounters`, PartitionKey = project).
 *
 * Why this design (correctness first, then throughput):
 * - Exact: all counters of one request live in the project's partition, so ONE entity-group
 *   transaction writes them all, with If-Match on every row's ETag (or an insert for a new row).
 *   Either every counter moves against the state that was read, or the service answers 412/409,
 *   nothing moves, and the round is retried. So no interleaving of any number of instances can
 *   admit more than a limit. Classic sharded counters (the limit split into per-shard quotas) were
 *   rejected: a shard can refuse while another still has room, which is not exact for variable
 *   token and dollar amounts.
 * - Throughput, 1: optimistic concurrency collapses when many writers race for the same rows, so
 *   each instance coalesces its concurrent calls per partition (group commit): while a round is in
 *   flight new calls queue; the next round reads the rows once, decides every queued call in order
 *   and commits them all in one transaction. Contention is then between instances, not requests.
 * - Throughput, 2: changes that check no limit (settlements, releases, rollups) go to a per-instance
 *   shard row `K!<shard>` instead of the main row `K`, in their own lane of rounds, so they never
 *   conflict with reservations, nor (barring two instances drawing the same shard) with each other.
 *   A counter's value is main + all shards. Such changes only ever lower usage (a release, a
 *   settlement below its reservation) or raise it by what the real usage exceeded its estimate;
 *   a limit decision that read a shard a moment before such a change is therefore at worst more
 *   cautious, or over by that excess, which the reservation model already allows (docs/limits.md).
 *   Every decision still commits against the ETags of the main rows it checked.
 */

export const USAGE_COUNTERS_TABLE = "UsageCounters";

/**
 * A transaction holds at most 100 operations, one per row; a logical counter can need two rows
 * (its main row and this instance's shard), so a round takes at most 50 logical counters.
 */
const MAX_COUNTERS_PER_ROUND = MAX_COUNTERS_PER_APPLY;

/**
 * Characters Table Storage forbids in a RowKey, plus everything that sorts at or below the shard
 * separator `!` (which would break the contiguity of a counter's rows).
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE_KEY = /[\u0000-\u0021/\\#?\u007f-\u009f]/;

export interface TableUsageCounterStoreOptions {
  /** Rounds (read, decide, commit) before a conflicted batch fails. Default 50. */
  readonly maxAttempts?: number;
  /** Upper bound of the jittered backoff after a conflict. Default 50 ms. */
  readonly maxBackoffInMs?: number;
  /** For tests: a deterministic source of jitter (and of the shard choice). */
  readonly random?: () => number;
  /** Shard rows an instance picks its own from (instances may share one; ETags keep that safe). Default 16. */
  readonly shardCount?: number;
}

interface PendingApply {
  readonly deltas: readonly CounterDelta[];
  readonly keys: ReadonlySet<string>;
  readonly holdExpiresAtMs: number | undefined;
  resolve(result: ApplyCountersResult): void;
  reject(error: unknown): void;
}

interface ReadRow {
  readonly values: CounterValues;
  readonly etag: string;
}

interface ReadResult {
  /** Physical rows by RowKey. */
  readonly rows: ReadonlyMap<string, ReadRow>;
  /** Logical counters (main + shards) by key. */
  readonly logical: ReadonlyMap<string, CounterValues>;
}

/** The store gave up: the rows kept changing under it, or the service failed. */
export class CounterStoreError extends Error {
  override readonly name = "CounterStoreError";
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class TableUsageCounterStore implements UsageCounterStore {
  private readonly queues = new Map<string, PendingApply[]>();
  private readonly maxAttempts: number;
  private readonly maxBackoffInMs: number;
  private readonly random: () => number;
  private readonly shard: number;
  /** Conflicts (412/409) seen so far: the contention cost, for benchmarks and logs. */
  conflicts = 0;
  /** Transactions committed so far. */
  commits = 0;

  constructor(
    private readonly client: TableClient,
    options: TableUsageCounterStoreOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 50;
    this.maxBackoffInMs = options.maxBackoffInMs ?? 50;
    this.random = options.random ?? Math.random;
    this.shard = Math.floor(this.random() * (options.shardCount ?? 16));
  }

  /** Creates the table if it does not exist (the composition calls this once at start-up). */
  async createTable(): Promise<void> {
    await this.client.createTable();
  }

  apply(partition: string, deltas: readonly CounterDelta[], options: ApplyCountersOptions = {}): Promise<ApplyCountersResult> {
    if (options.abortSignal?.aborted === true) return Promise.reject(new CounterStoreError("apply aborted before it started"));
    // A held counter also touches its owner's hold row (one row, written with its ETag).
    const keys = touchedKeys(deltas);
    if (keys.size > MAX_COUNTERS_PER_ROUND) {
      return Promise.reject(new RangeError(`one apply may touch at most ${MAX_COUNTERS_PER_ROUND} counters, got ${keys.size}`));
    }
    if ([...keys].some((key) => key.length === 0 || UNSTORABLE_KEY.test(key))) {
      return Promise.reject(new RangeError(`counter keys must be non-empty, without spaces, controls, "/", "\\", "#", "?" or "${SHARD_SEPARATOR}"`));
    }
    return new Promise((resolve, reject) => {
      // Calls that check a limit and calls that do not queue apart: they write different rows
      // (main rows, this instance's shard rows), so their rounds run side by side without conflict.
      const lane = `${deltas.some((delta) => delta.limit !== undefined) ? "limited" : "unlimited"}:${partition}`;
      const queue = this.queues.get(lane);
      const pending: PendingApply = { deltas, keys, holdExpiresAtMs: options.holdExpiresAtMs, resolve, reject };
      if (queue !== undefined) {
        queue.push(pending);
        return;
      }
      this.queues.set(lane, [pending]);
      void this.drain(lane, partition);
    });
  }

  async *list(partition: string, keyPrefix: string, options: ListCountersOptions = {}): AsyncIterable<CounterRow> {
    const filter = rowKeyRangeFilter(partition, keyPrefix);
    const entities = this.client.listEntities<TableEntity>({ queryOptions: { filter }, abortSignal: options.abortSignal });
    // RowKeys arrive in order and a counter's rows are contiguous: sum them as they stream by.
    let current: { key: string; values: Record<string, number> } | null = null;
    for await (const entity of entities) {
      const key = logicalKeyOf(entity.rowKey);
      if (current !== null && current.key !== key) {
        yield current;
        current = null;
      }
      current ??= { key, values: {} };
      addValues(current.values, readCounterValues(entity));
    }
    if (current !== null) yield current;
  }

  /**
   * Deletes a partition's per-minute rows older than `beforeMinute` (floor(epochMs / 60 000)).
   * Finished minute windows are never read again; Table Storage has no TTL, so a timer calls this.
   * Returns how many rows were deleted. Deleting a row that is already gone succeeds.
   */
  async pruneMinuteWindows(partition: string, beforeMinute: number, options: ListCountersOptions = {}): Promise<number> {
    const stale: string[] = [];
    const filter = rowKeyRangeFilter(partition, "L|m|");
    for await (const entity of this.client.listEntities<TableEntity>({ queryOptions: { filter, select: ["RowKey"] }, abortSignal: options.abortSignal })) {
      const minute = Number(entity.rowKey.split("|")[2]);
      if (Number.isInteger(minute) && minute < beforeMinute) stale.push(entity.rowKey);
    }
    for (let index = 0; index < stale.length; index += MAX_COUNTERS_PER_ROUND * 2) {
      const transaction = new TableTransaction();
      for (const rowKey of stale.slice(index, index + MAX_COUNTERS_PER_ROUND * 2)) transaction.deleteEntity(partition, rowKey);
      try {
        await this.client.submitTransaction(transaction.actions);
      } catch (error) {
        if (statusCodeOf(error) !== 404) throw error;
        // One row vanished meanwhile (another pruner): fall back to one by one.
        for (const rowKey of stale.slice(index, index + MAX_COUNTERS_PER_ROUND * 2)) {
          await this.client.deleteEntity(partition, rowKey).catch((single: unknown) => {
            if (statusCodeOf(single) !== 404) throw single;
          });
        }
      }
    }
    return stale.length;
  }

  async renewHolds(partition: string, owner: string, expiresAtMs: number, options: ListCountersOptions = {}): Promise<number> {
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

  async reclaimExpiredHolds(partition: string, nowInMs: number, options: ListCountersOptions = {}): Promise<ReclaimedHold[]> {
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
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
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
        this.conflicts++;
        await sleep(this.random() * Math.min(this.maxBackoffInMs, 2 ** attempt));
      }
    }
    throw new CounterStoreError(`hold "${rowKey}" in partition "${partition}" kept changing: gave up after ${this.maxAttempts} attempts`);
  }

  private async getRow(partition: string, rowKey: string): Promise<TableEntityResult<Record<string, unknown>> | null> {
    try {
      return await this.client.getEntity<Record<string, unknown>>(partition, rowKey);
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  /** One lane of one partition: rounds run one after another while calls keep arriving. */
  private async drain(lane: string, partition: string): Promise<void> {
    const queue = this.queues.get(lane);
    if (queue === undefined) return;
    while (queue.length > 0) {
      const batch: PendingApply[] = [];
      try {
        await this.commitBatch(partition, queue, batch);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.queues.delete(lane);
  }

  /** Moves queued calls into the batch while the batch stays within one transaction's rows. */
  private fillBatch(queue: PendingApply[], batch: PendingApply[], keys: Set<string>): void {
    while (queue.length > 0) {
      const next = queue[0];
      if (next === undefined) break;
      const added = [...next.keys].filter((key) => !keys.has(key)).length;
      if (batch.length > 0 && keys.size + added > MAX_COUNTERS_PER_ROUND) break;
      queue.shift();
      batch.push(next);
      for (const key of next.keys) keys.add(key);
    }
  }

  private async commitBatch(partition: string, queue: PendingApply[], batch: PendingApply[]): Promise<void> {
    const keySet = new Set<string>();
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      // Calls that queued while the last round failed join this one: a conflict costs them nothing extra.
      this.fillBatch(queue, batch, keySet);
      const keys = [...keySet];
      const read = await this.read(partition, keys);
      const working = new Map<string, CounterValues>(read.logical);
      /** Physical row -> what this round adds to it. */
      const writes = new Map<string, Record<string, number>>();
      const outcomes: (ApplyCountersResult | null)[] = [];
      for (const pending of batch) {
        let deltas: CounterDelta[];
        try {
          deltas = expandHolds(working, pending.deltas, pending.holdExpiresAtMs);
        } catch (error) {
          pending.reject(error);
          outcomes.push(null);
          continue;
        }
        const refused = refusedKeys(working, deltas);
        const counters: Record<string, CounterValues> = {};
        if (refused.length > 0) {
          for (const key of pending.keys) counters[key] = { ...(working.get(key) ?? {}) };
          outcomes.push({ applied: false, refused, counters });
          continue;
        }
        for (const [key, values] of addDeltas(working, deltas)) {
          working.set(key, values);
          counters[key] = { ...values };
        }
        for (const delta of deltas) {
          // A hold row has one row only: its owner's lanes and any reclaimer all write it under its ETag.
          const rowKey = delta.limit === undefined && !isHoldKey(delta.key) ? shardRowKey(delta.key, this.shard) : delta.key;
          const write = writes.get(rowKey) ?? {};
          addValues(write, delta.add);
          writes.set(rowKey, write);
        }
        outcomes.push({ applied: true, counters });
      }

      if (writes.size > 0) {
        const transaction = new TableTransaction();
        for (const [rowKey, add] of writes) {
          const existing = read.rows.get(rowKey);
          const values: Record<string, number> = { ...(existing?.values ?? {}) };
          addValues(values, add);
          const entity = toCounterEntity(partition, rowKey, values);
          if (existing === undefined) transaction.createEntity(entity);
          else transaction.updateEntity(entity, "Replace", { etag: existing.etag });
        }
        try {
          await this.client.submitTransaction(transaction.actions);
          this.commits++;
        } catch (error) {
          const status = statusCodeOf(error);
          if (status !== 412 && status !== 409) throw error;
          this.conflicts++;
          // Full jitter, growing with the attempt, bounded: the racing instances spread out.
          await sleep(this.random() * Math.min(this.maxBackoffInMs, 2 ** attempt));
          continue;
        }
      }
      batch.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome !== undefined && outcome !== null) pending.resolve(outcome);
      });
      return;
    }
    throw new CounterStoreError(`counters in partition "${partition}" kept changing: gave up after ${this.maxAttempts} attempts`);
  }

  /** Every row of the given logical counters, and their sums: one range query per 7 counters, in parallel. */
  private async read(partition: string, keys: readonly string[]): Promise<ReadResult> {
    const chunks: string[][] = [];
    for (let index = 0; index < keys.length; index += LOGICAL_KEYS_PER_FILTER) chunks.push(keys.slice(index, index + LOGICAL_KEYS_PER_FILTER));
    const rows = new Map<string, ReadRow>();
    const logical = new Map<string, Record<string, number>>();
    await Promise.all(
      chunks.map(async (chunk) => {
        const filter = logicalRowsFilter(partition, chunk);
        for await (const entity of this.client.listEntities<TableEntityResult<Record<string, unknown>>>({ queryOptions: { filter } })) {
          const rowKey = entity.rowKey ?? "";
          const values = readCounterValues(entity);
          rows.set(rowKey, { values, etag: entity.etag });
          const key = logicalKeyOf(rowKey);
          const sum = logical.get(key) ?? {};
          addValues(sum, values);
          logical.set(key, sum);
        }
      }),
    );
    return { rows, logical };
  }
}
