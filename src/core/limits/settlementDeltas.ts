import { type TokenUsage } from "../pricing/priceUsage.js";
import { FIELD, withOperationFields } from "./counterKeys.js";
import { periodKeysFor } from "./periodKeysFor.js";
import { type Reservation } from "./Reservation.js";
import { takeBackDeltas } from "./takeBackDeltas.js";
import { type CounterDelta } from "./UsageCounterStore.js";

/** At most this many tags get rollups, so one settlement stays within one store round (50 counters). */
export const MAX_ROLLUP_TAGS = 16;

const PERIODS = ["day", "month"] as const;

const NO_TAGS: readonly [string, string][] = [];

/** The tags a settlement rolls up, in key order (at most MAX_ROLLUP_TAGS). */
export function rollupTagsOf(tags: Readonly<Record<string, string>>): readonly [string, string][] {
  // Most projects have no tags: no entries, sort and slice for them.
  let any = false;
  for (const _ in tags) {
    any = true;
    break;
  }
  if (!any) return NO_TAGS;
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_ROLLUP_TAGS);
}

/**
 * What settling a request writes: its reservation taken back (the request slot stays counted),
 * the real tokens on its per-minute token counters, and the usage and cost on the project's day
 * and month counters (by operation too, as fields of those rows) and their rollups (by key, model
 * and tag) for chargeback.
 */
export function settlementDeltas(reservation: Reservation, usage: TokenUsage, costMicros: number): CounterDelta[] {
  const deltas: CounterDelta[] = takeBackDeltas(reservation.held, [FIELD.requests]);
  const totalTokens = Math.max(0, usage.inputTokens) + Math.max(0, usage.outputTokens);
  if (totalTokens > 0) {
    for (const delta of reservation.held) {
      if (delta.key.includes("|tok|")) deltas.push({ key: delta.key, add: { [FIELD.settled]: totalTokens } });
    }
  }
  const measures: Record<string, number> = {
    [FIELD.usd]: costMicros,
    [FIELD.requests]: 1,
    [FIELD.inputTokens]: Math.max(0, usage.inputTokens),
    [FIELD.cachedInputTokens]: Math.max(0, usage.cachedInputTokens ?? 0),
    [FIELD.outputTokens]: Math.max(0, usage.outputTokens),
  };
  if (reservation.price === null) measures[FIELD.unpricedRequests] = 1;
  const keyName = reservation.keyId ?? (reservation.serviceAccountId === null ? "(none)" : `sa:${reservation.serviceAccountId}`);
  // By operation as fields of the project's rows: no extra row in the transaction. The same object
  // serves both periods: deltas are read, never changed (PendingSettlements copies what it merges).
  const projectMeasures = reservation.operation === null ? measures : withOperationFields(reservation.operation, measures);
  const tags = rollupTagsOf(reservation.tags);
  for (const period of PERIODS) {
    const keys = periodKeysFor(period, reservation.windows);
    deltas.push({ key: keys.project, add: projectMeasures });
    deltas.push({ key: keys.rollup("key", keyName), add: measures });
    deltas.push({ key: keys.rollup("model", reservation.model), add: measures });
    for (const [tag, value] of tags) deltas.push({ key: keys.rollup("tag", `${tag}=${value}`), add: measures });
  }
  return deltas;
}
