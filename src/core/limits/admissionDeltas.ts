import { type ProjectPolicy } from "../policy/schema.js";
import { usdToMicros } from "../pricing/priceUsage.js";
import { FIELD, projectPeriodKey, projectScope, requestsKey, serviceAccountScope, tokensKey } from "./counterKeys.js";
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
  const scopes: [string, ProjectPolicy["limits"]][] = [[projectScope, input.project.limits]];
  if (input.serviceAccount !== null) scopes.push([serviceAccountScope(input.serviceAccount.id), input.serviceAccount.limits]);
  for (const [scope, limits] of scopes) {
    if (limits.requestsPerMinute !== undefined) {
      deltas.push({ key: requestsKey(windows.minute, scope), add: { [FIELD.requests]: 1 }, limit: { fields: [FIELD.requests], max: limits.requestsPerMinute } });
    }
    if (limits.tokensPerMinute !== undefined) {
      deltas.push({
        key: tokensKey(windows.minute, scope),
        add: { [FIELD.reserved]: tokens },
        limit: { fields: [FIELD.reserved, FIELD.settled], max: limits.tokensPerMinute },
      });
    }
  }
  const budget = input.project.budget;
  for (const [period, usd] of [["day", budget?.dailyUsd], ["month", budget?.monthlyUsd]] as const) {
    if (usd === undefined) continue;
    // Budget is held by this instance (owner and expiry): if it dies, what it held comes back.
    deltas.push({
      key: projectPeriodKey(period, windows),
      add: { [FIELD.usdReserved]: usdMicros },
      limit: { fields: [FIELD.usdReserved, FIELD.usd], max: usdToMicros(usd) },
      heldBy: holdOwner,
    });
  }
  return deltas;
}
