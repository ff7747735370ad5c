import { type TokenUsage } from "../pricing/priceUsage.js";
import { FIELD, projectPeriodKey, rollupKey, withOperationFields } from "./counterKeys.js";
import { type Reservation } from "./Reservation.js";
import { takeBackDeltas } from "./takeBackDeltas.js";
import { type CounterDelta } from "./UsageCounterStore.js";

/** At most this many tags get rollups, so one settlement stays within one store round (50 counters). */
export const MAX_ROLLUP_TAGS = 16;

function rollupTags(tags: Readonly<Record<string, string>>): [string, string][] {
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
  const deltas: CounterDelta[] = [...takeBackDeltas(reservation.held, [FIELD.requests])];
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
  for (const period of ["day", "month"] as const) {
    // By operation as fields of the project's row: no extra row in the transaction.
    deltas.push({ key: projectPeriodKey(period, reservation.windows), add: reservation.operation === null ? measures : withOperationFields(reservation.operation, measures) });
    deltas.push({ key: rollupKey(period, reservation.windows, "key", keyName), add: measures });
    deltas.push({ key: rollupKey(period, reservation.windows, "model", reservation.model), add: measures });
    for (const [tag, value] of rollupTags(reservation.tags)) deltas.push({ key: rollupKey(period, reservation.windows, "tag", `${tag}=${value}`), add: measures });
  }
  return deltas;
}
