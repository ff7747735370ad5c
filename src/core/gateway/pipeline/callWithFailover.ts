import { type AuditEvent } from "../../audit/AuditEvent.js";
import { type Clock } from "../../clock.js";
import { type Policy, type EndpointPolicy } from "../../policy/schema.js";
import { type EndpointHealth, type FailureKind } from "../../routing/EndpointHealth.js";
import { type FailoverResult, executeWithFailover } from "../../routing/executeWithFailover.js";
import { type RoutePlan } from "../../routing/planRoute.js";
import { type RequestTelemetry } from "../../telemetry/GatewayTelemetry.js";
import { isUpstreamError } from "../../upstream/CompletionProvider.js";
import { upstreamRefusal } from "./upstreamRefusal.js";

export interface FailoverDeps {
  readonly policy: Policy;
  readonly health: EndpointHealth;
  readonly clock: Clock;
}

/** An upstream call that failed: the error for the caller, and whether any endpoint was called at all. */
export class UpstreamCallFailed extends Error {
  override readonly name = "UpstreamCallFailed";
  constructor(
    readonly error: unknown,
    /** The last endpoint called (null when none was). */
    readonly endpoint: EndpointPolicy | null,
    readonly attempts: number,
  ) {
    super("the upstream call failed");
  }
}

/**
 * Call: the plan's endpoints in order, failing over on 429/5xx/timeout only within the plan (so never
 * across residency or class). Failovers become `fallback_triggered` events, published with the
 * outcome. Throws UpstreamCallFailed, whose error is what the caller is told.
 */
export async function callWithFailover<T>(
  deps: FailoverDeps,
  telemetry: RequestTelemetry,
  plan: RoutePlan,
  call: (endpoint: EndpointPolicy, timeoutInMs: number) => Promise<T>,
  onFailover: (from: EndpointPolicy, to: EndpointPolicy, reason: FailureKind) => AuditEvent,
  pending: AuditEvent[],
  abortSignal?: AbortSignal,
): Promise<FailoverResult<T>> {
  let last: EndpointPolicy | null = null;
  let attempts = 0;
  try {
    return await executeWithFailover(
      plan,
      (endpoint, { timeoutInMs }) => {
        last = endpoint;
        attempts += 1;
        return call(endpoint, timeoutInMs);
      },
      {
        health: deps.health,
        clock: deps.clock,
        maxAttempts: deps.policy.routing.maxAttempts,
        totalDeadlineInMs: deps.policy.routing.totalDeadlineInMs,
        classifyError: (error) => (isUpstreamError(error) ? { kind: error.kind, retryAfterInMs: error.retryAfterInMs } : { kind: "fatal" }),
        onFailover: (from, to, reason) => {
          telemetry.failover(from, to, reason);
          pending.push(onFailover(from, to, reason));
        },
        ...(abortSignal === undefined ? {} : { abortSignal }),
      },
    );
  } catch (error) {
    throw new UpstreamCallFailed(upstreamRefusal(error), last, attempts);
  }
}
