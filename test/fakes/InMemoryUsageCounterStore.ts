import {
  addDeltas,
  type ApplyCountersResult,
  type CounterDelta,
  type CounterRow,
  type CounterValues,
  refusedKeys,
  type UsageCounterStore,
} from "../../src/core/limits/UsageCounterStore.js";

/** The counter store in one process's memory: atomic because each apply runs to completion synchronously. */
export class InMemoryUsageCounterStore implements UsageCounterStore {
  private readonly partitions = new Map<string, Map<string, CounterValues>>();
  /** Calls to apply (tests check that untracked projects cost none). */
  applyCalls = 0;
  /** When set, every call throws this (a store that cannot be reached). */
  failWith: Error | null = null;

  async apply(partition: string, deltas: readonly CounterDelta[]): Promise<ApplyCountersResult> {
    this.applyCalls++;
    if (this.failWith !== null) throw this.failWith;
    const rows = this.partitions.get(partition) ?? new Map<string, CounterValues>();
    this.partitions.set(partition, rows);
    const refused = refusedKeys(rows, deltas);
    if (refused.length > 0) {
      const counters: Record<string, CounterValues> = {};
      for (const delta of deltas) counters[delta.key] = { ...(rows.get(delta.key) ?? {}) };
      return { applied: false, refused, counters };
    }
    const next = addDeltas(rows, deltas);
    const counters: Record<string, CounterValues> = {};
    for (const [key, values] of next) {
      rows.set(key, values);
      counters[key] = { ...values };
    }
    return { applied: true, counters };
  }

  async *list(partition: string, keyPrefix: string): AsyncIterable<CounterRow> {
    if (this.failWith !== null) throw this.failWith;
    const rows = this.partitions.get(partition);
    if (rows === undefined) return;
    const keys = [...rows.keys()].filter((key) => key.startsWith(keyPrefix)).sort();
    for (const key of keys) {
      const values = rows.get(key);
      if (values !== undefined) yield { key, values: { ...values } };
    }
  }
}
