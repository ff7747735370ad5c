import { type ProjectPolicy } from "../policy/schema.js";
import { FIELD, projectScope, requestsKey, serviceAccountScope, tokensKey } from "./counterKeys.js";
import { rateLimitHeaders, type WindowUse } from "./rateLimitHeaders.js";
import { type ReserveInput } from "./ReserveInput.js";
import { type CounterValues, sumFields } from "./UsageCounterStore.js";
import { msUntilNextMinute, type Windows } from "./windows.js";

/** The x-ratelimit-* headers for a request, from the per-minute counters as its admission saw them. */
export function reservationHeaders(input: ReserveInput, windows: Windows, counters: Readonly<Record<string, CounterValues>>, now: number): Record<string, string> {
  const requests: WindowUse[] = [];
  const tokens: WindowUse[] = [];
  const scopes: [string, ProjectPolicy["limits"]][] = [[projectScope, input.project.limits]];
  if (input.serviceAccount !== null) scopes.push([serviceAccountScope(input.serviceAccount.id), input.serviceAccount.limits]);
  for (const [scope, limits] of scopes) {
    if (limits.requestsPerMinute !== undefined) {
      requests.push({ limit: limits.requestsPerMinute, used: sumFields(counters[requestsKey(windows.minute, scope)], [FIELD.requests]) });
    }
    if (limits.tokensPerMinute !== undefined) {
      tokens.push({ limit: limits.tokensPerMinute, used: sumFields(counters[tokensKey(windows.minute, scope)], [FIELD.reserved, FIELD.settled]) });
    }
  }
  return rateLimitHeaders(requests, tokens, msUntilNextMinute(now));
}
