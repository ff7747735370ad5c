import { type ProjectPolicy } from "../policy/schema.js";
import { usdToMicros } from "../pricing/priceUsage.js";
import { FIELD, type RollupPeriod, projectScope, serviceAccountScope } from "./counterKeys.js";
import { minuteKeysFor } from "./minuteKeysFor.js";
import { periodKeysFor } from "./periodKeysFor.js";
import { type ReserveInput } from "./ReserveInput.js";
import { type CounterDelta } from "./UsageCounterStore.js";
import { type Windows } from "./windows.js";

/**
 * The limit-checked deltas one request adds: a request and its tokens on each per-minute limit
 * (project, service account), its reserved cost on each budget period. Empty when the project has
 * no limits and no budget.
 */
export function admissionDeltas(input: ReserveInput, windows: Windows, tokens: number, usdMicros: number, holdOwner: string): CounterDelta[] {
  const deltas: CounterDelta[] = [];
  scopeDeltas(deltas, windows, tokens, projectScope, input.project.limits);
  if (input.serviceAccount !== null) scopeDeltas(deltas, windows, tokens, serviceAccountScope(input.serviceAccount.id), input.serviceAccount.limits);
  const budget = input.project.budget;
  if (budget?.dailyUsd !== undefined) deltas.push(budgetDelta("day", windows, budget.dailyUsd, usdMicros, holdOwner));
  if (budget?.monthlyUsd !== undefined) deltas.push(budgetDelta("month", windows, budget.monthlyUsd, usdMicros, holdOwner));
  return deltas;
}

// Limit field lists are read, never changed: one of each for every request (no tuples or arrays per call).
export const REQUEST_FIELDS: readonly string[] = [FIELD.requests];
export const TOKEN_FIELDS: readonly string[] = [FIELD.reserved, FIELD.settled];
const BUDGET_FIELDS = [FIELD.usdReserved, FIELD.usd];

function scopeDeltas(deltas: CounterDelta[], windows: Windows, tokens: number, scope: string, limits: ProjectPolicy["limits"]): void {
  if (limits.requestsPerMinute !== undefined) {
    deltas.push({ key: minuteKeysFor(windows.minute, scope).requests, add: { [FIELD.requests]: 1 }, limit: { fields: REQUEST_FIELDS, max: limits.requestsPerMinute } });
  }
  if (limits.tokensPerMinute !== undefined) {
    deltas.push({ key: minuteKeysFor(windows.minute, scope).tokens, add: { [FIELD.reserved]: tokens }, limit: { fields: TOKEN_FIELDS, max: limits.tokensPerMinute } });
  }
}

/** Budget is held by this instance (owner and expiry): if it dies, what it held comes back. */
function budgetDelta(period: RollupPeriod, windows: Windows, usd: number, usdMicros: number, holdOwner: string): CounterDelta {
  return { key: periodKeysFor(period, windows).project, add: { [FIELD.usdReserved]: usdMicros }, limit: { fields: BUDGET_FIELDS, max: usdToMicros(usd) }, heldBy: holdOwner };
}
