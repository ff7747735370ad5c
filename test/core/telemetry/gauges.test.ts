import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { KeyExpiryTelemetry } from "../../../src/adapters/telemetry/KeyExpiryTelemetry.js";
import { ObservedAuditOutbox } from "../../../src/adapters/telemetry/ObservedAuditOutbox.js";
import { PreAggregatedCounter } from "../../../src/adapters/telemetry/PreAggregatedCounter.js";
import { observeEndpointHealth } from "../../../src/adapters/telemetry/observeEndpointHealth.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { gatewayPolicy } from "../gateway/gatewayHarness.js";
import { pointsOf, telemetryFixture } from "./telemetryFixture.js";

let fixture = telemetryFixture();
afterEach(async () => {
  await fixture.shutdown();
  fixture = telemetryFixture();
});

describe("observeEndpointHealth", () => {
  it("reports every endpoint's breaker: 0 closed, 1 half-open, 2 open, with its region", async () => {
    const policy = gatewayPolicy();
    const clock = new ManualClock();
    const health = new EndpointHealth(clock, policy.routing.breaker);
    observeEndpointHealth(fixture.meter, health, policy.endpoints);
    for (let i = 0; i < policy.routing.breaker.consecutiveFailures; i++) health.recordFailure("eu-west-std", "server_error");
    health.recordSuccess("eu-north-zdr", 10);

    let points = pointsOf(await fixture.points(), "palisade.endpoint.breaker_state");
    const byEndpoint = (id: string) => points.find((point) => point.attributes["palisade.endpoint.id"] === id);
    expect(points).toHaveLength(policy.endpoints.length);
    expect(byEndpoint("eu-west-std")).toMatchObject({ value: 2, attributes: { "palisade.region": "westeurope" } });
    expect(byEndpoint("eu-north-zdr")?.value).toBe(0);
    expect(byEndpoint("us-east-std")?.value).toBe(0);

    clock.advance(policy.routing.breaker.cooldownInMs);
    points = pointsOf(await fixture.points(), "palisade.endpoint.breaker_state");
    expect(byEndpoint("eu-west-std")?.value).toBe(1);
    expect(points).toHaveLength(policy.endpoints.length);
  });
});

describe("KeyExpiryTelemetry", () => {
  it("reports days to expiry per credential, and the latest check replaces the earlier one", async () => {
    const gauge = new KeyExpiryTelemetry(fixture.meter);
    gauge.record([
      { kind: "managed-credential", id: "openai-eu-west", project: "acme", daysToExpiry: 3 },
      { kind: "api-key", id: "k1234", project: "acme", daysToExpiry: -1 },
      { kind: "api-key", id: "k9999", project: "acme", daysToExpiry: null },
    ]);
    const read = async () =>
      pointsOf(await fixture.points(), "palisade.credential.days_to_expiry")
        .map((point) => [point.attributes["palisade.credential.kind"], point.attributes["palisade.credential.id"], point.value])
        .sort();
    expect(await read()).toEqual([
      ["api-key", "k1234", -1],
      ["managed-credential", "openai-eu-west", 3],
    ]);
    // Rotated: the credential's series moves up rather than keeping its warning value.
    gauge.record([
      { kind: "managed-credential", id: "openai-eu-west", project: "acme", daysToExpiry: 89 },
      { kind: "api-key", id: "k1234", project: "acme", daysToExpiry: -2 },
    ]);
    expect(await read()).toEqual([
      ["api-key", "k1234", -2],
      ["managed-credential", "openai-eu-west", 89],
    ]);
  });
});

describe("ObservedAuditOutbox", () => {
  it("counts events stored and drained by project, and passes everything through", async () => {
    const inner = new InMemoryAuditOutbox();
    const outbox = new ObservedAuditOutbox(inner, fixture.meter);
    const event = (eventId: string, project: string) =>
      ({ schemaVersion: 1, eventId, ts: "2026-01-01T00:00:00.000Z", type: "api_call", status: "success", project, actor: { kind: "system", id: "t" }, policyVersion: "p" }) as const;
    await outbox.put([event("00000000-0000-4000-8000-000000000001", "acme"), event("00000000-0000-4000-8000-000000000002", "acme"), event("00000000-0000-4000-8000-000000000003", "other")]);
    const listed = [];
    for await (const stored of outbox.list()) listed.push(stored);
    expect(listed).toHaveLength(3);
    await outbox.delete([{ eventId: "00000000-0000-4000-8000-000000000001", project: "acme" }]);
    const points = await fixture.points();
    expect(pointsOf(points, "palisade.audit.outbox.stored", { "palisade.project": "acme" })[0]?.value).toBe(2);
    expect(pointsOf(points, "palisade.audit.outbox.stored", { "palisade.project": "other" })[0]?.value).toBe(1);
    expect(pointsOf(points, "palisade.audit.outbox.drained", { "palisade.project": "acme" })[0]?.value).toBe(1);
  });
});

describe("PreAggregatedCounter", () => {
  it("sums by key, makes attributes once per key, and folds series beyond the cap into the overflow series", async () => {
    let made = 0;
    const counter = new PreAggregatedCounter(fixture.meter, "test.counter", {}, 2);
    const add = (key: string, value: number) =>
      counter.add(key, value, () => {
        made += 1;
        return { k: key };
      });
    add("a", 1);
    add("a", 2);
    add("b", 5);
    add("c", 7);
    add("d", 1);
    expect(made).toBe(2);
    const points = pointsOf(await fixture.points(), "test.counter");
    expect(points.map((point) => [point.attributes.k ?? `overflow:${String(point.attributes["otel.metric.overflow"])}`, point.value])).toEqual([
      ["a", 3],
      ["b", 5],
      ["overflow:true", 8],
    ]);
  });
});
