import { type Meter } from "@opentelemetry/api";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type BreakerState, type EndpointHealth } from "../../core/routing/EndpointHealth.js";
import { ATTR, METRIC } from "../../core/telemetry/telemetryAttributes.js";

const STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

/**
 * Reports each endpoint's circuit breaker as an observable gauge (0 closed, 1 half-open, 2 open),
 * read from `health.snapshot()` only when the metric reader collects: nothing on the request path.
 * Endpoints this instance has not called yet are reported closed.
 */
export function observeEndpointHealth(meter: Meter, health: Pick<EndpointHealth, "snapshot">, endpoints: readonly Pick<EndpointPolicy, "id" | "region">[]): void {
  const gauge = meter.createObservableGauge(METRIC.breakerState, { description: "Circuit-breaker state per endpoint, as this instance sees it: 0 closed, 1 half-open, 2 open." });
  const regions = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.region]));
  gauge.addCallback((result) => {
    const states = new Map<string, BreakerState>(endpoints.map((endpoint) => [endpoint.id, "closed"]));
    for (const entry of health.snapshot()) states.set(entry.endpointId, entry.state);
    for (const [endpointId, state] of states) {
      // The state is the value, not an attribute: a changing attribute would leave a stale series behind.
      result.observe(STATE_VALUES[state], { [ATTR.endpointId]: endpointId, [ATTR.region]: regions.get(endpointId) ?? "unknown" });
    }
  });
}
