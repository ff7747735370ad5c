import { type Clock } from "../clock.js";
import { PalisadeError } from "../errors.js";
import { type EndpointPolicy } from "../policy/schema.js";
import { type EndpointHealth, type FailureKind } from "./EndpointHealth.js";
import { noCompliantEndpoint, type RoutePlan } from "./planRoute.js";

export type AttemptErrorKind = FailureKind | "fatal";

export interface ClassifiedAttemptError {
  /** fatal: the request itself was refused (4xx other than 408, 409, 429); rethrown, never retried. */
  readonly kind: AttemptErrorKind;
  readonly retryAfterInMs?: number | undefined;
}

export interface AttemptOptions {
  /** The time this attempt may take: the endpoint's timeout, capped by what is left of the deadline. */
  readonly timeoutInMs: number;
  /** 1 for the first attempt. */
  readonly attemptNumber: number;
}

export interface ExecuteWithFailoverOptions {
  readonly health: EndpointHealth;
  readonly clock: Clock;
  readonly maxAttempts: number;
  readonly totalDeadlineInMs: number;
  /** Called before each failover with the endpoint that failed, the next one, and the failure kind. */
  readonly onFailover?: (from: EndpointPolicy, to: EndpointPolicy, reason: FailureKind) => void;
  readonly classifyError: (error: unknown) => ClassifiedAttemptError;
  readonly abortSignal?: AbortSignal;
}

export interface FailoverResult<T> {
  readonly result: T;
  readonly endpoint: EndpointPolicy;
  /** Attempts made, including the one that succeeded. */
  readonly attempts: number;
}

interface Failure {
  readonly endpoint: EndpointPolicy;
  readonly kind: FailureKind;
  readonly retryAfterInMs: number | undefined;
  readonly error: unknown;
}

/**
 * Runs `attempt` against the plan's candidates in order, failing over on 429, 5xx, timeout and connection
 * errors — only ever to another candidate of the same plan, so failover never crosses residency or class.
 * Each endpoint is tried at most once per request; endpoints the health tracker holds back (open breaker,
 * a half-open probe already in flight, a pending retry-after) are skipped. Stops at `maxAttempts` or when
 * `totalDeadlineInMs` (measured on `clock`) is spent.
 *
 * Errors: a fatal attempt error is rethrown as is. Nothing could be tried, or every compliant endpoint was
 * tried and failed: 503 `no_compliant_endpoint`. The attempt budget or deadline ran out while compliant
 * endpoints remained: `upstream_error`, 502 after a 5xx or connection error, 503 after a rate limit or
 * timeout, with `retry-after` when the upstream gave one.
 */
export async function executeWithFailover<T>(
  plan: RoutePlan,
  attempt: (endpoint: EndpointPolicy, options: AttemptOptions) => Promise<T>,
  options: ExecuteWithFailoverOptions,
): Promise<FailoverResult<T>> {
  const { health, clock } = options;
  const deadlineInMs = clock.nowInMs() + options.totalDeadlineInMs;
  const tried = new Set<string>();
  let attempts = 0;
  let lastFailure: Failure | null = null;

  while (attempts < options.maxAttempts) {
    options.abortSignal?.throwIfAborted();
    const remainingInMs = deadlineInMs - clock.nowInMs();
    if (remainingInMs <= 0) break;
    const endpoint = plan.candidates.find((candidate) => !tried.has(candidate.id) && health.tryAcquire(candidate.id));
    if (endpoint === undefined) break;
    tried.add(endpoint.id);
    if (lastFailure !== null) options.onFailover?.(lastFailure.endpoint, endpoint, lastFailure.kind);

    attempts += 1;
    const startedAtInMs = clock.nowInMs();
    try {
      const result = await attempt(endpoint, { timeoutInMs: Math.min(endpoint.timeoutInMs, remainingInMs), attemptNumber: attempts });
      health.recordSuccess(endpoint.id, clock.nowInMs() - startedAtInMs);
      return { result, endpoint, attempts };
    } catch (error) {
      const classified = options.classifyError(error);
      if (classified.kind === "fatal") {
        health.release(endpoint.id);
        throw error;
      }
      health.recordFailure(endpoint.id, classified.kind, classified.retryAfterInMs);
      lastFailure = { endpoint, kind: classified.kind, retryAfterInMs: classified.retryAfterInMs, error };
    }
  }

  if (lastFailure === null) {
    throw noCompliantEndpoint(plan, { reason: "none_available", retryAfterInMs: soonestAvailableInMs(plan, health) });
  }
  // Every compliant endpoint was tried or is held back, and none answered: nothing compliant can serve.
  const untried = plan.candidates.some((candidate) => !tried.has(candidate.id) && health.isAvailable(candidate.id));
  if (!untried) {
    throw noCompliantEndpoint(plan, { reason: "all_failed", lastFailure: lastFailure.kind, retryAfterInMs: lastFailure.retryAfterInMs ?? soonestAvailableInMs(plan, health) });
  }
  throw upstreamFailure(lastFailure, attempts);
}

function soonestAvailableInMs(plan: RoutePlan, health: EndpointHealth): number | null {
  const waits = plan.candidates.map((candidate) => health.nextAvailableInMs(candidate.id)).filter((wait): wait is number => wait !== null);
  return waits.length === 0 ? null : Math.min(...waits);
}

const DESCRIPTIONS: Readonly<Record<FailureKind, string>> = {
  rate_limited: "was rate limited",
  server_error: "returned a server error",
  timeout: "timed out",
  connection: "could not be reached",
};

function upstreamFailure(failure: Failure, attempts: number): PalisadeError {
  const busy = failure.kind === "rate_limited" || failure.kind === "timeout";
  const retryAfter = failure.retryAfterInMs !== undefined && failure.retryAfterInMs > 0 ? { "retry-after": String(Math.ceil(failure.retryAfterInMs / 1000)) } : undefined;
  const message = `The upstream model service ${DESCRIPTIONS[failure.kind]} (${failure.kind}) after ${attempts} attempt${attempts === 1 ? "" : "s"} on compliant endpoints. Retry later.`;
  return new PalisadeError(busy ? 503 : 502, busy ? "service_unavailable_error" : "api_error", "upstream_error", message, {
    cause: failure.error,
    ...(retryAfter === undefined ? {} : { headers: retryAfter }),
  });
}
