import { requestsKey, tokensKey } from "./counterKeys.js";

/** The per-minute limit row keys of one scope (the project, a service account). */
export interface MinuteKeys {
  readonly requests: string;
  readonly tokens: string;
}

/** Past this many scopes in one minute the cache stops growing (keys are still built, just not kept). */
const MAX_CACHED_SCOPES = 4_096;

let cachedMinute = Number.NaN;
let byScope = new Map<string, MinuteKeys>();

/**
 * The keys of `scope` in minute window `minute`, built once a minute: every request of a minute
 * admits, reports and settles on the same few (two strings per scope, three times a request otherwise).
 * Another minute starts a new cache (the old one is dropped).
 */
export function minuteKeysFor(minute: number, scope: string): MinuteKeys {
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    byScope = new Map();
  }
  let keys = byScope.get(scope);
  if (keys === undefined) {
    keys = { requests: requestsKey(minute, scope), tokens: tokensKey(minute, scope) };
    if (byScope.size < MAX_CACHED_SCOPES) byScope.set(scope, keys);
  }
  return keys;
}
