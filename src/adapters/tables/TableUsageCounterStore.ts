import { type TableClient, type TableEntity } from "@azure/data-tables";
import {
  type ApplyCountersOptions,
  type ApplyCountersResult,
  type CounterDelta,
  type CounterRow,
  type ListCountersOptions,
  type ReclaimedHold,
  touchedKeys,
  type UsageCounterStore,
} from "../../core/limits/UsageCounterStore.js";
import { ConflictBackoff } from "./usage/ConflictBackoff.js";
import { readCounterValues } from "./usage/counterEntity.js";
import { rowKeyRangeFilter } from "./usage/counterFilters.js";
import { CounterGroupCommit, LANDED_MARK_PREFIX, MAX_COUNTERS_PER_ROUND } from "./usage/CounterGroupCommit.js";
import { CounterStoreError } from "./usage/CounterStoreError.js";
import { addValues, logicalKeyOf, SHARD_SEPARATOR } from "./usage/physicalRows.js";
import { TableHoldRows } from "./usage/TableHoldRows.js";
import { pruneMinuteWindows, pruneWriterMarks } from "./usage/staleRows.js";

// Thrown when the store gives up; callers have always imported it from here.
export { CounterStoreError };

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
 *   each instance coalesces its concurrent calls per partition (group commit, `CounterGroupCommit`):
 *   while a round is in flight new calls queue; the next round reads the rows once, decides every
 *   queued call in order and commits them all in one transaction. Contention is then between
 *   instances, not requests.
 * - Throughput, 2: changes that check no limit (settlements, releases, rollups) go to a per-instance
 *   shard row `K!<shard>` instead of the main row `K`, in their own lane of rounds, so they never
 *   conflict with reservations, nor (barring two instances drawing the same shard) with each other.
 *   A counter's value is main + all shards. Such changes only ever lower usage (a release, a
 *   settlement below its reservation) or raise it by what the real usage exceeded its estimate;
 *   a limit decision that read a shard a moment before such a change is therefore at worst more
 *   cautious, or over by that excess, which the reservation model already allows (docs/limits.md).
 *   Every decision still commits against the ETags of the main rows it checked.
 * - Holds (budget held by one instance, with an expiry) are rows of their own: `TableHoldRows`.
 *
 * This class is the port's face: it checks what a call may ask, and reads (list, prune) directly.
 */

export const USAGE_COUNTERS_TABLE = "UsageCounters";

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
  /** Prune stale rows of the partitions this instance writes (`pruneStale`); off when absent. */
  readonly housekeeping?: CounterHousekeeping;
}

export interface CounterHousekeeping {
  /** Delay from a partition's first write to its first prune (off the start-up's path). Default 60 s. */
  readonly firstAfterInMs?: number;
  /** Then at most this often per partition, with a write. Default an hour. */
  readonly everyInMs?: number;
  /** Marks of other writers untouched for longer go. Default an hour: far beyond any lost answer's check (seconds). */
  readonly markMaxAgeInMs?: number;
  /** Minute windows older go. Default an hour: beyond any call that settles into the minute it reserved in. */
  readonly minuteWindowMaxAgeInMs?: number;
  readonly now?: () => number;
  /** Told what each run deleted (logs, tests). */
  readonly onPruned?: (partition: string, pruned: { readonly minuteRows: number; readonly marks: number }) => void;
}

const HOUR_IN_MS = 3_600_000;

export class TableUsageCounterStore implements UsageCounterStore {
  private readonly backoff: ConflictBackoff;
  private readonly groupCommit: CounterGroupCommit;
  private readonly holdRows: TableHoldRows;
  private readonly housekeeping: CounterHousekeeping | undefined;
  private readonly housekeepingAges: { readonly markMaxAgeInMs: number; readonly minuteWindowMaxAgeInMs: number };
  /** By partition: when a write may schedule its next prune. */
  private readonly nextPruneAt = new Map<string, number>();

  constructor(
    private readonly client: TableClient,
    options: TableUsageCounterStoreOptions = {},
  ) {
    const random = options.random ?? Math.random;
    const shard = Math.floor(random() * (options.shardCount ?? 16));
    this.backoff = new ConflictBackoff(options.maxAttempts ?? 50, options.maxBackoffInMs ?? 50, random);
    this.groupCommit = new CounterGroupCommit(client, this.backoff, shard);
    this.holdRows = new TableHoldRows(client, this.backoff, shard);
    this.housekeeping = options.housekeeping;
    this.housekeepingAges = { markMaxAgeInMs: options.housekeeping?.markMaxAgeInMs ?? HOUR_IN_MS, minuteWindowMaxAgeInMs: options.housekeeping?.minuteWindowMaxAgeInMs ?? HOUR_IN_MS };
  }

  /** Conflicts (412/409) seen so far: the contention cost, for benchmarks and logs. */
  get conflicts(): number {
    return this.backoff.conflicts;
  }

  /** Transactions committed so far. */
  get commits(): number {
    return this.groupCommit.commits;
  }

  /** Transactions that landed though their answer was lost, found by their mark and not applied again. */
  get landedUnanswered(): number {
    return this.groupCommit.landedUnanswered;
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
    this.scheduleHousekeeping(partition);
    return this.groupCommit.submit(partition, deltas, keys, options.holdExpiresAtMs);
  }

  async *list(partition: string, keyPrefix: string, options: ListCountersOptions = {}): AsyncIterable<CounterRow> {
    const filter = rowKeyRangeFilter(partition, keyPrefix);
    const entities = this.client.listEntities<TableEntity>({ queryOptions: { filter }, abortSignal: options.abortSignal });
    // RowKeys arrive in order and a counter's rows are contiguous: sum them as they stream by.
    let current: { key: string; values: Record<string, number> } | null = null;
    for await (const entity of entities) {
      // The writers' marks are bookkeeping of the store, not counters.
      if (entity.rowKey.startsWith(LANDED_MARK_PREFIX)) continue;
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
   * Finished minute windows are never read again; Table Storage has no TTL. Returns how many rows
   * were deleted. Deleting a row that is already gone succeeds.
   */
  pruneMinuteWindows(partition: string, beforeMinute: number, options: ListCountersOptions = {}): Promise<number> {
    return pruneMinuteWindows(this.client, partition, beforeMinute, options.abortSignal);
  }

  /**
   * The partition's stale bookkeeping, as of `nowInMs`: minute windows and other writers' marks
   * older than the housekeeping's ages (by default an hour each). `apply` runs it by itself when
   * housekeeping is on (`TableUsageCounterStoreOptions.housekeeping`).
   */
  async pruneStale(partition: string, nowInMs: number, options: ListCountersOptions = {}): Promise<{ readonly minuteRows: number; readonly marks: number }> {
    const ages = this.housekeepingAges;
    const marks = await pruneWriterMarks(this.client, partition, { markPrefix: LANDED_MARK_PREFIX, ownPrefix: this.groupCommit.ownMarkPrefix, writtenBeforeMs: nowInMs - ages.markMaxAgeInMs }, options.abortSignal);
    const minuteRows = await pruneMinuteWindows(this.client, partition, Math.floor((nowInMs - ages.minuteWindowMaxAgeInMs) / 60_000), options.abortSignal);
    return { minuteRows, marks };
  }

  /** Schedules `pruneStale` for a partition written to: `firstAfterInMs` after its first write, then with a write at most every `everyInMs`. */
  private scheduleHousekeeping(partition: string): void {
    const housekeeping = this.housekeeping;
    if (housekeeping === undefined) return;
    const now = housekeeping.now ?? Date.now;
    const at = now();
    const due = this.nextPruneAt.get(partition);
    if (due !== undefined && at < due) return;
    const delayInMs = due === undefined ? (housekeeping.firstAfterInMs ?? 60_000) : 0;
    this.nextPruneAt.set(partition, at + delayInMs + (housekeeping.everyInMs ?? HOUR_IN_MS));
    const run = (): void =>
      void this.pruneStale(partition, now()).then(
        (pruned) => housekeeping.onPruned?.(partition, pruned),
        // Housekeeping only: the next run tries again.
        () => undefined,
      );
    setTimeout(run, delayInMs).unref();
  }

  renewHolds(partition: string, owner: string, expiresAtMs: number, options: ListCountersOptions = {}): Promise<number> {
    return this.holdRows.renew(partition, owner, expiresAtMs, options);
  }

  reclaimExpiredHolds(partition: string, nowInMs: number, options: ListCountersOptions = {}): Promise<ReclaimedHold[]> {
    return this.holdRows.reclaimExpired(partition, nowInMs, options);
  }
}
