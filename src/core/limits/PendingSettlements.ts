import { type CounterDelta } from "./UsageCounterStore.js";

/**
 * Settlements and releases waiting to be written together. They only ever add and never check a
 * limit, so many of them merge into one delta per counter: one store round for a second of traffic
 * instead of one per request. Until written, what a request reserved stays held in the store: the
 * cautious side for every limit.
 */
interface PendingCounter {
  readonly key: string;
  readonly heldBy: string | undefined;
  readonly values: Record<string, number>;
}

/** Deltas of one counter merge only when they take back from the same owner's hold (or none). */
const mergeKey = (delta: CounterDelta): string => (delta.heldBy === undefined ? delta.key : `${delta.key}\u0000${delta.heldBy}`);

export class PendingSettlements {
  private readonly byPartition = new Map<string, Map<string, PendingCounter>>();

  add(partition: string, deltas: readonly CounterDelta[]): void {
    let counters = this.byPartition.get(partition);
    if (counters === undefined) {
      counters = new Map();
      this.byPartition.set(partition, counters);
    }
    for (const delta of deltas) {
      let counter = counters.get(mergeKey(delta));
      if (counter === undefined) {
        counter = { key: delta.key, heldBy: delta.heldBy, values: {} };
        counters.set(mergeKey(delta), counter);
      }
      const values = counter.values;
      for (const field in delta.add) values[field] = (values[field] ?? 0) + (delta.add[field] ?? 0);
    }
  }

  /** Takes a partition's merged deltas (zero amounts left out), leaving nothing pending for it. */
  take(partition: string): CounterDelta[] {
    const counters = this.byPartition.get(partition);
    this.byPartition.delete(partition);
    const deltas: CounterDelta[] = [];
    for (const { key, heldBy, values } of counters?.values() ?? []) {
      const add: Record<string, number> = {};
      let any = false;
      for (const field in values) {
        const amount = values[field] ?? 0;
        if (amount === 0) continue;
        add[field] = amount;
        any = true;
      }
      if (any) deltas.push({ key, add, ...(heldBy === undefined ? {} : { heldBy }) });
    }
    return deltas;
  }

  partitions(): string[] {
    return [...this.byPartition.keys()];
  }
}
