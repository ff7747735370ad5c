import { type ProjectPolicy } from "../policy/schema.js";
import { REQUEST_FIELDS, TOKEN_FIELDS } from "./admissionDeltas.js";
import { projectScope, serviceAccountScope } from "./counterKeys.js";
import { minuteKeysFor } from "./minuteKeysFor.js";
import { tighterUse, windowRateLimitHeaders, type WindowUse } from "./rateLimitHeaders.js";
import { type ReserveInput } from "./ReserveInput.js";
import { type CounterValues, sumFields } from "./UsageCounterStore.js";
import { msUntilNextMinute, type Windows } from "./windows.js";

/** The x-ratelimit-* headers for a request, from the per-minute counters as its admission saw them. */
export function reservationHeaders(input: ReserveInput, windows: Windows, counters: Readonly<Record<string, CounterValues>>, now: number): Record<string, string> {
  // The project's windows, then the service account's (the tighter one is reported): no lists a request.
  let requests = requestsUse(input.project.limits, minuteKeysFor(windows.minute, projectScope).requests, counters);
  let tokens = tokensUse(input.project.limits, minuteKeysFor(windows.minute, projectScope).tokens, counters);
  if (input.serviceAccount !== null) {
    const keys = minuteKeysFor(windows.minute, serviceAccountScope(input.serviceAccount.id));
    requests = tighterUse(requests, requestsUse(input.serviceAccount.limits, keys.requests, counters));
    tokens = tighterUse(tokens, tokensUse(input.serviceAccount.limits, keys.tokens, counters));
  }
  return windowRateLimitHeaders(requests, tokens, msUntilNextMinute(now));
}

function requestsUse(limits: ProjectPolicy["limits"], key: string, counters: Readonly<Record<string, CounterValues>>): WindowUse | null {
  return limits.requestsPerMinute === undefined ? null : { limit: limits.requestsPerMinute, used: sumFields(counters[key], REQUEST_FIELDS) };
}

function tokensUse(limits: ProjectPolicy["limits"], key: string, counters: Readonly<Record<string, CounterValues>>): WindowUse | null {
  return limits.tokensPerMinute === undefined ? null : { limit: limits.tokensPerMinute, used: sumFields(counters[key], TOKEN_FIELDS) };
}
