import { escapeKeyPart, unescapeKeyPart } from "./counterKeys.js";

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
  /**
   * The instance (owner) that holds what this delta adds: the amounts are also added to the
   * owner's hold on `key` (see `holdKey`), which expires unless renewed, and a taking-back (a
   * negative amount) is capped at what the owner still holds, so a hold reclaimed after its
   * owner died is never given back twice.
   */
  readonly heldBy?: string;
}

export interface CounterRow {
  readonly key: string;
  readonly values: CounterValues;
}

export interface ApplyCountersOptions {
  readonly abortSignal?: AbortSignal;
  /** Until when the holds this apply writes stay held unless renewed (required when it adds to a hold). */
  readonly holdExpiresAtMs?: number;
}

/** What one owner holds on one counter, and until when (a row of the `H|` key range). */
export interface CounterHold {
  readonly owner: string;
  /** The counter held. */
  readonly key: string;
  /** The held amounts by field (what the owner added and has not taken back). */
  readonly values: CounterValues;
  readonly expiresAtMs: number;
}

/** A hold given back by `reclaimExpiredHolds`: its amounts were taken off its counter. */
export type ReclaimedHold = CounterHold;

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
  /** Moves the expiry of every non-empty hold of `owner` in the partition to `expiresAtMs` (never earlier). Returns how many. */
  renewHolds(partition: string, owner: string, expiresAtMs: number, options?: ListCountersOptions): Promise<number>;
  /**
   * Gives back every hold of the partition that expired before `nowInMs`: its amounts are taken
   * off its counter and the hold removed, atomically and only if it is still expired (an owner
   * renewing or writing meanwhile wins). Expired empty holds are removed too.
   */
  reclaimExpiredHolds(partition: string, nowInMs: number, options?: ListCountersOptions): Promise<ReclaimedHold[]>;
}

/** Holds live in the partition beside the counters: `H|<owner>|<counter key>`. */
export const HOLD_PREFIX = "H|";
export const EXPIRES_AT_FIELD = "expiresAtMs";

export const holdKey = (owner: string, key: string): string => `${HOLD_PREFIX}${escapeKeyPart(owner)}|${key}`;
export const holdPrefixOf = (owner: string): string => `${HOLD_PREFIX}${escapeKeyPart(owner)}|`;
export const isHoldKey = (key: string): boolean => key.startsWith(HOLD_PREFIX);

/** A hold row as the store lists it (its values hold `expiresAtMs` beside the amounts), or null for another row. */
export function holdOf(row: CounterRow): CounterHold | null {
  if (!isHoldKey(row.key)) return null;
  const at = row.key.indexOf("|", HOLD_PREFIX.length);
  if (at < 0) return null;
  const values: Record<string, number> = {};
  for (const [field, amount] of Object.entries(row.values)) if (field !== EXPIRES_AT_FIELD) values[field] = amount;
  return { owner: unescapeKeyPart(row.key.slice(HOLD_PREFIX.length, at)), key: row.key.slice(at + 1), values, expiresAtMs: row.values[EXPIRES_AT_FIELD] ?? 0 };
}

export const holdsAnything = (values: CounterValues): boolean => Object.entries(values).some(([field, amount]) => field !== EXPIRES_AT_FIELD && amount !== 0);

/**
 * Rewrites `heldBy` deltas into plain deltas, the one rule every store shares: the counter's delta
 * (a taking-back capped at what the owner holds there) and the same amounts on the owner's hold
 * row, whose expiry moves to `expiresAtMs` when that is later. `current` must hold the hold rows
 * of the owners named (missing: nothing held). Deltas without `heldBy` pass unchanged.
 */
export function expandHolds(current: ReadonlyMap<string, CounterValues>, deltas: readonly CounterDelta[], expiresAtMs: number | undefined): CounterDelta[] {
  if (!deltas.some((delta) => delta.heldBy !== undefined)) return [...deltas];
  const holds = new Map<string, Record<string, number>>();
  const out: CounterDelta[] = [];
  for (const delta of deltas) {
    if (delta.heldBy === undefined) {
      out.push(delta);
      continue;
    }
    const key = holdKey(delta.heldBy, delta.key);
    const held = holds.get(key) ?? { ...(current.get(key) ?? {}) };
    holds.set(key, held);
    const add: Record<string, number> = {};
    let raises = false;
    for (const [field, amount] of Object.entries(delta.add)) {
      const applied = amount < 0 ? -Math.min(-amount, Math.max(0, held[field] ?? 0)) : amount;
      if (applied === 0) continue;
      if (applied > 0) raises = true;
      add[field] = applied;
      held[field] = (held[field] ?? 0) + applied;
    }
    if (raises && expiresAtMs === undefined) throw new RangeError(`adding to a hold on ${delta.key} needs holdExpiresAtMs`);
    const holdAdd: Record<string, number> = { ...add };
    const expiry = held[EXPIRES_AT_FIELD] ?? 0;
    if (expiresAtMs !== undefined && expiresAtMs > expiry && (raises || holdsAnything(held))) {
      holdAdd[EXPIRES_AT_FIELD] = expiresAtMs - expiry;
      held[EXPIRES_AT_FIELD] = expiresAtMs;
    }
    out.push({ key: delta.key, add, ...(delta.limit === undefined ? {} : { limit: delta.limit }) });
    if (Object.keys(holdAdd).length > 0) out.push({ key, add: holdAdd });
  }
  return out;
}

/** The keys one apply touches: its counters and the holds of its `heldBy` deltas. */
export function touchedKeys(deltas: readonly CounterDelta[]): Set<string> {
  const keys = new Set<string>();
  for (const delta of deltas) {
    keys.add(delta.key);
    if (delta.heldBy !== undefined) keys.add(holdKey(delta.heldBy, delta.key));
  }
  return keys;
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
