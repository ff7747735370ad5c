/**
 * The shared counter store behind rate limits, budgets and usage rollups.
 *
 * One partition per project holds every counter that one request touches (its minute windows,
 * its day and month budgets and its rollups), so that `apply` can change them all in ONE atomic
 * step: every delta is applied, or — when a limited counter would go over its limit — none is.
 * That single primitive is what makes limits exact across any number of app instances.
 */

/** Integer amounts by field name (requests, tokens, micro-dollars). */
export type CounterValues = Readonly<Record<string, number>>;

export interface CounterLimit {
  /** The fields whose sum is limited (for example reserved + settled). */
  readonly fields: readonly string[];
  /** The largest the sum may be after the delta is applied. */
  readonly max: number;
}

export interface CounterDelta {
  /** The counter's key inside the partition (see `counterKeys.ts`). */
  readonly key: string;
  /** Integers to add to fields (negative to take back). Missing counters start at zero. */
  readonly add: CounterValues;
  /**
   * Refuse the whole `apply` if, after adding, the sum of these fields would exceed `max`.
   * Only checked when the delta raises that sum, so settlements and releases always go through.
   */
  readonly limit?: CounterLimit;
}

export interface CounterRow {
  readonly key: string;
  readonly values: CounterValues;
}

export interface ApplyCountersOptions {
  readonly abortSignal?: AbortSignal;
}

export type ApplyCountersResult =
  | {
      readonly applied: true;
      /** Every touched counter's values AFTER the change, by key. */
      readonly counters: Readonly<Record<string, CounterValues>>;
    }
  | {
      readonly applied: false;
      /** Keys of the limited counters that would have gone over. */
      readonly refused: readonly string[];
      /** Every touched counter's values as they are (nothing was changed), by key. */
      readonly counters: Readonly<Record<string, CounterValues>>;
    };

export interface ListCountersOptions {
  readonly abortSignal?: AbortSignal;
}

/** One `apply` touches at most this many counters (a Table transaction holds 100 rows: main + shard). */
export const MAX_COUNTERS_PER_APPLY = 50;

export interface UsageCounterStore {
  /**
   * Applies all deltas to one partition atomically, or none of them if a limit would be exceeded.
   * Throws when the store cannot be reached or cannot commit (callers treat that as unavailable).
   */
  apply(partition: string, deltas: readonly CounterDelta[], options?: ApplyCountersOptions): Promise<ApplyCountersResult>;
  /** Counters of one partition whose key starts with `keyPrefix`, in key order. */
  list(partition: string, keyPrefix: string, options?: ListCountersOptions): AsyncIterable<CounterRow>;
}

/** Sum of a counter's fields, zero for missing ones. */
export function sumFields(values: CounterValues | undefined, fields: readonly string[]): number {
  let total = 0;
  for (const field of fields) total += values?.[field] ?? 0;
  return total;
}

/**
 * The one evaluation rule every store shares, so the fake and the real adapter agree exactly.
 * Returns the keys that would go over, or an empty list; `current` is not modified.
 */
export function refusedKeys(current: ReadonlyMap<string, CounterValues>, deltas: readonly CounterDelta[]): string[] {
  const next = addDeltas(current, deltas);
  const refused: string[] = [];
  for (const delta of deltas) {
    if (delta.limit === undefined) continue;
    let raise = 0;
    for (const field of delta.limit.fields) raise += delta.add[field] ?? 0;
    if (raise > 0 && sumFields(next.get(delta.key), delta.limit.fields) > delta.limit.max && !refused.includes(delta.key)) refused.push(delta.key);
  }
  return refused;
}

/** `current` plus the deltas, for the touched keys only (several deltas may touch one key). */
export function addDeltas(current: ReadonlyMap<string, CounterValues>, deltas: readonly CounterDelta[]): Map<string, Record<string, number>> {
  const next = new Map<string, Record<string, number>>();
  for (const delta of deltas) {
    const row = next.get(delta.key) ?? { ...(current.get(delta.key) ?? {}) };
    for (const [field, amount] of Object.entries(delta.add)) row[field] = (row[field] ?? 0) + amount;
    next.set(delta.key, row);
  }
  return next;
}
