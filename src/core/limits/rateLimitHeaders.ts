/**
 * OpenAI's rate-limit headers, sent on every response of a project with per-minute limits:
 * x-ratelimit-{limit,remaining,reset}-{requests,tokens}. When both the project and the service
 * account are limited, the tighter one (the least remaining) is reported.
 */

export interface WindowUse {
  readonly limit: number;
  readonly used: number;
}

/** OpenAI's duration style: `250ms`, `12s`, `1m5s`. */
export function formatResetDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

/** The one with the least remaining; the first when they tie (null: not limited). */
export function tighterUse(first: WindowUse | null, second: WindowUse | null): WindowUse | null {
  if (first === null) return second;
  if (second === null) return first;
  return second.limit - second.used < first.limit - first.used ? second : first;
}

export function rateLimitHeaders(requests: readonly WindowUse[], tokens: readonly WindowUse[], resetInMs: number): Record<string, string> {
  let tightestRequests: WindowUse | null = null;
  for (const use of requests) tightestRequests = tighterUse(tightestRequests, use);
  let tightestTokens: WindowUse | null = null;
  for (const use of tokens) tightestTokens = tighterUse(tightestTokens, use);
  return windowRateLimitHeaders(tightestRequests, tightestTokens, resetInMs);
}

/** The headers of the tightest request and token windows (names written out: no strings built a response). */
export function windowRateLimitHeaders(requests: WindowUse | null, tokens: WindowUse | null, resetInMs: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = formatResetDuration(resetInMs);
  if (requests !== null) {
    headers["x-ratelimit-limit-requests"] = String(requests.limit);
    headers["x-ratelimit-remaining-requests"] = String(Math.max(0, requests.limit - requests.used));
    headers["x-ratelimit-reset-requests"] = reset;
  }
  if (tokens !== null) {
    headers["x-ratelimit-limit-tokens"] = String(tokens.limit);
    headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, tokens.limit - tokens.used));
    headers["x-ratelimit-reset-tokens"] = reset;
  }
  return headers;
}
