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
  type ReclaimedHold,
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
  /** When set, each apply waits for it first (a store round trip the test holds open). */
  beforeApply: (() => Promise<void>) | null = null;

  async apply(partition: string, deltas: readonly CounterDelta[], options: ApplyCountersOptions = {}): Promise<ApplyCountersResult> {
    this.applyCalls++;
    if (this.beforeApply !== null) await this.beforeApply();
    if (this.failWith !== null) throw this.failWith;
    const rows = this.rowsOf(partition);
    const expanded = expandHolds(rows, deltas, options.holdExpiresAtMs);
    const refused = refusedKeys(rows, expanded);
    if (refused.length > 0) {
      const counters: Record<string, CounterValues> = {};
      for (const delta of deltas) counters[delta.key] = { ...(rows.get(delta.key) ?? {}) };
      return { applied: false, refused, counters };
    }
    const next = addDeltas(rows, expanded);
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

  async renewHolds(partition: string, owner: string, expiresAtMs: number): Promise<number> {
    if (this.failWith !== null) throw this.failWith;
    const rows = this.rowsOf(partition);
    let renewed = 0;
    for (const [key, values] of rows) {
      if (!key.startsWith(holdPrefixOf(owner)) || !holdsAnything(values) || (values[EXPIRES_AT_FIELD] ?? 0) >= expiresAtMs) continue;
      rows.set(key, { ...values, [EXPIRES_AT_FIELD]: expiresAtMs });
      renewed++;
    }
    return renewed;
  }

  async reclaimExpiredHolds(partition: string, nowInMs: number): Promise<ReclaimedHold[]> {
    if (this.failWith !== null) throw this.failWith;
    const rows = this.rowsOf(partition);
    const reclaimed: ReclaimedHold[] = [];
    for (const [key, values] of [...rows]) {
      const hold = key.startsWith(HOLD_PREFIX) ? holdOf({ key, values }) : null;
      if (hold === null || hold.expiresAtMs >= nowInMs) continue;
      // As on Table Storage: an empty expired hold is deleted, a full one emptied (deleted by the next sweep).
      if (!holdsAnything(hold.values)) {
        rows.delete(key);
        continue;
      }
      const emptied: Record<string, number> = { [EXPIRES_AT_FIELD]: hold.expiresAtMs };
      for (const field of Object.keys(hold.values)) emptied[field] = 0;
      rows.set(key, emptied);
      const counter: Record<string, number> = { ...(rows.get(hold.key) ?? {}) };
      for (const [field, amount] of Object.entries(hold.values)) counter[field] = (counter[field] ?? 0) - amount;
      rows.set(hold.key, counter);
      reclaimed.push(hold);
    }
    return reclaimed;
  }

  private rowsOf(partition: string): Map<string, CounterValues> {
    const rows = this.partitions.get(partition) ?? new Map<string, CounterValues>();
    this.partitions.set(partition, rows);
    return rows;
  }
}
