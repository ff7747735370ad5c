import { randomUUID } from "node:crypto";
import { type TableClient, TableTransaction } from "@azure/data-tables";
import {
  addDeltas,
  type ApplyCountersResult,
  type CounterDelta,
  type CounterValues,
  expandHolds,
  isHoldKey,
  MAX_COUNTERS_PER_APPLY,
  refusedKeys,
} from "../../../core/limits/UsageCounterStore.js";
import { statusCodeOf } from "../../azure/azureErrors.js";
import { type ConflictBackoff } from "./ConflictBackoff.js";
import { toCounterEntity } from "./counterEntity.js";
import { CounterStoreError } from "./CounterStoreError.js";
import { addValues, shardRowKey } from "./physicalRows.js";
import { readCounterRows } from "./readCounterRows.js";

/**
 * The optimistic-concurrency write path of the counter store, with group commit: while a round
 * of a partition is in flight, new calls queue; the next round reads the rows once, decides every
 * queued call in order against what the calls before it added, and commits them all in ONE
 * entity-group transaction under the ETags it read (or inserts for new rows). A 412/409 means
 * another instance moved first: nothing was written, and the round starts again from a fresh read.
 */

/**
 * A transaction holds at most 100 operations, one per row; a logical counter can need two rows
 * (its main row and this instance's shard), so a round takes at most 50 logical counters.
 */
export const MAX_COUNTERS_PER_ROUND = MAX_COUNTERS_PER_APPLY;

interface PendingApply {
  readonly deltas: readonly CounterDelta[];
  readonly keys: ReadonlySet<string>;
  readonly holdExpiresAtMs: number | undefined;
  resolve(result: ApplyCountersResult): void;
  reject(error: unknown): void;
}

/**
 * Rows of the `W|` range mark which transaction of one writer (a store instance's lane) landed last.
 * They are bookkeeping, not counters: `list` leaves them out.
 */
export const LANDED_MARK_PREFIX = "W|";
const LANDED_FIELD = "landed";
/** When an unlimited write's answer is lost: read its mark at once, then as the store's breaker (2 s by default) lets a probe through. */
const MARK_READ_DELAYS_IN_MS = [0, 300, 700, 1_500];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A transaction whose answer never came (a reset, a timeout, or a 412/409 to the SDK's own retry of it). */
interface Doubt {
  readonly sequence: number;
  readonly members: readonly PendingApply[];
  readonly outcomes: readonly (ApplyCountersResult | null)[];
}

export class CounterGroupCommit {
  private readonly queues = new Map<string, PendingApply[]>();
  /** Transactions committed so far. */
  commits = 0;
  /** Transactions whose answer was lost after they landed, found out by their mark (not written again). */
  landedUnanswered = 0;
  /** Unique per store instance: its lanes' marks never collide with another instance's. */
  private readonly writer = randomUUID().slice(0, 13);
  private sequence = 0;

  /** The start of this writer's marks' RowKeys (both lanes). */
  get ownMarkPrefix(): string {
    return `${LANDED_MARK_PREFIX}${this.writer}.`;
  }

  constructor(
    private readonly client: TableClient,
    private readonly backoff: ConflictBackoff,
    /** This instance's shard: the row its unlimited changes go to. */
    private readonly shard: number,
  ) {}

  /** Queues one checked call (its `keys` within one round) and settles with its outcome. */
  submit(partition: string, deltas: readonly CounterDelta[], keys: ReadonlySet<string>, holdExpiresAtMs: number | undefined): Promise<ApplyCountersResult> {
    return new Promise((resolve, reject) => {
      // Calls that check a limit and calls that do not queue apart: they write different rows
      // (main rows, this instance's shard rows), so their rounds run side by side without conflict.
      const lane = `${deltas.some((delta) => delta.limit !== undefined) ? "limited" : "unlimited"}:${partition}`;
      const queue = this.queues.get(lane);
      const pending: PendingApply = { deltas, keys, holdExpiresAtMs, resolve, reject };
      if (queue !== undefined) {
        queue.push(pending);
        return;
      }
      this.queues.set(lane, [pending]);
      void this.drain(lane, partition);
    });
  }

  /** One lane of one partition: rounds run one after another while calls keep arriving. */
  private async drain(lane: string, partition: string): Promise<void> {
    const queue = this.queues.get(lane);
    if (queue === undefined) return;
    while (queue.length > 0) {
      const batch: PendingApply[] = [];
      try {
        await this.commitBatch(partition, queue, batch, lane.startsWith("limited") ? "l" : "u");
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

  /**
   * Every transaction also writes its lane's mark (`W|<writer>.<lane>`, only this lane writes it) with
   * its sequence number. When an answer is lost, the mark tells whether the transaction landed: if it
   * did, its calls are answered with the outcome it committed instead of being applied a second time
   * (a release or settlement applied twice would lower a counter below what was admitted, and the
   * limit would admit more than it should).
   */
  private async commitBatch(partition: string, queue: PendingApply[], batch: PendingApply[], lane: "l" | "u"): Promise<void> {
    const keySet = new Set<string>();
    const mark = `${LANDED_MARK_PREFIX}${this.writer}.${lane}`;
    let doubt: Doubt | null = null;
    for (let attempt = 1; attempt <= this.backoff.maxAttempts; attempt++) {
      // Calls that queued while the last round failed join this one: a conflict costs them nothing extra.
      this.fillBatch(queue, batch, keySet);
      const keys = [...keySet];
      if (doubt !== null) keys.push(mark);
      const read = await readCounterRows(this.client, partition, keys);
      if (doubt !== null) {
        const landed = read.rows.get(mark)?.values[LANDED_FIELD] === doubt.sequence;
        if (landed && this.answerLanded(batch, doubt)) return;
        doubt = null;
      }
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
        const sequence = ++this.sequence;
        transaction.upsertEntity(toCounterEntity(partition, mark, { [LANDED_FIELD]: sequence }), "Replace");
        try {
          await this.client.submitTransaction(transaction.actions);
          this.commits++;
        } catch (error) {
          // The SDK retries a try whose answer was lost: a 412/409 may then be this very transaction's own write.
          doubt = { sequence, members: [...batch], outcomes };
          const status = statusCodeOf(error);
          if (status !== 412 && status !== 409) {
            // Any other failure: the mark tells whether it landed. Reservations ask once (unknown: the caller
            // fails, and a landed one only over-counts); releases and settlements, which a second write would
            // count twice the wrong way, ask until the store answers again (its breaker lets a probe through).
            if ((await this.markOf(partition, mark, lane === "u" ? MARK_READ_DELAYS_IN_MS : [0])) === sequence && this.answerLanded(batch, doubt)) return;
            throw error;
          }
          await this.backoff.afterConflict(attempt);
          continue;
        }
      }
      batch.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome !== undefined && outcome !== null) pending.resolve(outcome);
      });
      return;
    }
    throw new CounterStoreError(`counters in partition "${partition}" kept changing: gave up after ${this.backoff.maxAttempts} attempts`);
  }

  /**
   * A transaction landed though its answer was lost: its calls get the outcome it committed and leave
   * the batch. Returns whether the batch is done (no call joined after that transaction).
   */
  private answerLanded(batch: PendingApply[], doubt: Doubt): boolean {
    this.commits++;
    this.landedUnanswered++;
    doubt.members.forEach((pending, index) => {
      const outcome = doubt.outcomes[index];
      if (outcome !== undefined && outcome !== null) pending.resolve(outcome);
      const at = batch.indexOf(pending);
      if (at >= 0) batch.splice(at, 1);
    });
    return batch.length === 0;
  }

  /** The lane's mark as stored now (0: none yet), or -1 when it could not be read after each delay. */
  private async markOf(partition: string, mark: string, delaysInMs: readonly number[]): Promise<number> {
    for (const delay of delaysInMs) {
      if (delay > 0) await sleep(delay);
      try {
        const read = await readCounterRows(this.client, partition, [mark]);
        return read.rows.get(mark)?.values[LANDED_FIELD] ?? 0;
      } catch {
        // Unreachable still (or its breaker open): look again after the next delay.
      }
    }
    return -1;
  }
}
