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

function tightest(uses: readonly WindowUse[]): WindowUse | null {
  let best: WindowUse | null = null;
  for (const use of uses) {
    if (best === null || use.limit - use.used < best.limit - best.used) best = use;
  }
  return best;
}

export function rateLimitHeaders(requests: readonly WindowUse[], tokens: readonly WindowUse[], resetInMs: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = formatResetDuration(resetInMs);
  for (const [suffix, uses] of [["requests", requests], ["tokens", tokens]] as const) {
    const use = tightest(uses);
    if (use === null) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(use.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, use.limit - use.used));
    headers[`x-ratelimit-reset-${suffix}`] = reset;
  }
  return headers;
}
