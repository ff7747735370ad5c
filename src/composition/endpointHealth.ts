import { type Clock } from "../core/clock.js";
import { type Policy } from "../core/policy/schema.js";
import { EndpointHealth } from "../core/routing/EndpointHealth.js";
import { type Telemetry } from "./telemetry.js";

/** The endpoints' breakers and latencies (per instance), observed by telemetry. */
export function createEndpointHealth(policy: Policy, clock: Clock, telemetry: Telemetry): EndpointHealth {
  const routing = policy.routing;
  const health = new EndpointHealth(clock, routing.breaker, { maxRetryAfterInMs: routing.maxRetryAfterInMs, probeLeaseInMs: routing.totalDeadlineInMs });
  telemetry.observeEndpointHealth(health, policy.endpoints);
  return health;
}
