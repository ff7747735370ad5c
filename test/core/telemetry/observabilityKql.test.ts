import { SpanKind } from "@opentelemetry/api";
import { type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { KeyExpiryTelemetry } from "../../../src/adapters/telemetry/KeyExpiryTelemetry.js";
import { ObservedAuditOutbox } from "../../../src/adapters/telemetry/ObservedAuditOutbox.js";
import { observeEndpointHealth } from "../../../src/adapters/telemetry/observeEndpointHealth.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { CARD, gatewayHarness, gatewayPolicy } from "../gateway/gatewayHarness.js";
import { type Point, telemetryFixture } from "./telemetryFixture.js";

/**
 * The ready-made queries (docs/observability.md and infra/workbook.json) name only what the code
 * emits: every metric and span name they filter on, and every attribute they read, is checked against
 * the names and attributes an OtelGatewayTelemetry (and the gauges and outbox) actually produced for a
 * set of requests here — not against a list kept by hand.
 */

interface Query {
  readonly source: string;
  readonly table: string;
  readonly text: string;
}

function docsQueries(): Query[] {
  const markdown = readFileSync("docs/observability.md", "utf8");
  return [...markdown.matchAll(/```kusto\n([\s\S]*?)```/g)].map((match, index) => {
    const text = match[1] ?? "";
    return { source: `docs/observability.md query ${index + 1}`, table: text.trim().split(/\s/)[0] ?? "", text };
  });
}

function workbookQueries(): Query[] {
  const workbook = JSON.parse(readFileSync("infra/workbook.json", "utf8")) as { items: { type: number; name: string; content: { query?: string } }[] };
  return workbook.items
    .filter((item) => item.type === 3 && typeof item.content.query === "string")
    .map((item) => {
      const text = item.content.query ?? "";
      return { source: `infra/workbook.json ${item.name}`, table: text.trim().split(/\s/)[0] ?? "", text };
    });
}

/** The names a query filters on (`Name == "x"`, `Name in ("x", "y")`). */
function namesIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\bName\s*(?:==\s*("[^"]*")|in\s*\(([^)]*)\))/g)) {
    for (const literal of (match[1] ?? match[2] ?? "").matchAll(/"([^"]*)"/g)) names.push(literal[1] ?? "");
  }
  return names;
}

/** The attributes a query reads (`Properties["x"]`). */
function propertiesIn(text: string): string[] {
  return [...text.matchAll(/Properties\["([^"]+)"\]/g)].map((match) => match[1] ?? "");
}

/** Metric name -> attribute keys, and span kind -> span name -> attribute keys, as emitted. */
const emittedMetrics = new Map<string, Set<string>>();
const emittedSpans = new Map<SpanKind, Map<string, Set<string>>>();
const fixture = telemetryFixture();

function addAll(target: Map<string, Set<string>>, name: string, keys: readonly string[]): void {
  const set = target.get(name) ?? new Set<string>();
  for (const key of keys) set.add(key);
  target.set(name, set);
}

beforeAll(async () => {
  const h = await gatewayHarness({ telemetry: fixture.create });
  await h.service.handle(h.request({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }));
  await h.service.handle(h.request({ content: `card ${CARD}` }));
  await h.service.handle(h.request({ content: `card ${CARD}`, dataClassHeader: "public" })).catch(() => undefined);
  h.provider.onEndpoint("eu-west-std", FakeCompletionProvider.fail("server_error", { status: 500 }));
  await h.service.handle(h.request());
  const limited = await gatewayHarness({ project: { limits: { requestsPerMinute: 1 } }, telemetry: fixture.create });
  await limited.service.handle(limited.request());
  await limited.service.handle(limited.request()).catch(() => undefined); // rate limited
  const failing = await gatewayHarness({ telemetry: fixture.create });
  failing.audit.failAlways();
  await failing.service.handle(failing.request()).catch(() => undefined);

  const policy = gatewayPolicy();
  observeEndpointHealth(fixture.meter, new EndpointHealth(new ManualClock(), policy.routing.breaker), policy.endpoints);
  new KeyExpiryTelemetry(fixture.meter).record([{ kind: "api-key", id: "k1234", project: "acme", daysToExpiry: 3 }]);
  const outbox = new ObservedAuditOutbox(new InMemoryAuditOutbox(), fixture.meter);
  const event = { schemaVersion: 1, eventId: "00000000-0000-4000-8000-000000000001", ts: "2026-01-01T00:00:00.000Z", type: "api_call", status: "success", project: "acme", actor: { kind: "system", id: "t" }, policyVersion: "p" } as const;
  await outbox.put([event]);
  await outbox.delete([event]);

  const points: Point[] = await fixture.points();
  for (const point of points) addAll(emittedMetrics, point.name, Object.keys(point.attributes));
  const spans: ReadableSpan[] = fixture.spans();
  for (const span of spans) {
    const byName = emittedSpans.get(span.kind) ?? new Map<string, Set<string>>();
    addAll(byName, span.name, Object.keys(span.attributes));
    emittedSpans.set(span.kind, byName);
  }
});

afterAll(async () => {
  await fixture.shutdown();
});

const queries = [...docsQueries(), ...workbookQueries()];

describe("the ready-made KQL names what the code emits", () => {
  it("finds the queries", () => {
    expect(docsQueries().length).toBeGreaterThanOrEqual(10);
    expect(workbookQueries().length).toBe(docsQueries().length);
  });

  it.each(queries.map((query) => [query.source, query] as const))("%s", (_source, query) => {
    const names = namesIn(query.text);
    const properties = propertiesIn(query.text);
    switch (query.table) {
      case "AppMetrics": {
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(emittedMetrics.has(name), `metric ${name}`).toBe(true);
        // Every attribute read is carried by at least one of the metrics the query selects.
        for (const key of properties) expect(names.some((name) => emittedMetrics.get(name)?.has(key)), `attribute ${key} on ${names.join(", ")}`).toBe(true);
        break;
      }
      case "AppRequests": {
        // Application Insights puts SERVER spans in AppRequests.
        const server = emittedSpans.get(SpanKind.SERVER) ?? new Map<string, Set<string>>();
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(server.has(name), `SERVER span ${name}`).toBe(true);
        for (const key of properties) expect(names.some((name) => server.get(name)?.has(key)), `attribute ${key}`).toBe(true);
        break;
      }
      case "AppDependencies": {
        // INTERNAL and CLIENT spans land in AppDependencies.
        const dependencies = [...(emittedSpans.get(SpanKind.INTERNAL)?.entries() ?? []), ...(emittedSpans.get(SpanKind.CLIENT)?.entries() ?? [])];
        for (const name of names) expect(dependencies.some(([emitted]) => emitted === name), `span ${name}`).toBe(true);
        for (const key of properties) expect(dependencies.some(([, keys]) => keys.has(key)), `attribute ${key}`).toBe(true);
        break;
      }
      default:
        throw new Error(`${query.source}: unexpected table ${query.table}`);
    }
  });

  it("would catch a misspelt name", () => {
    expect(emittedMetrics.has("palisade.request")).toBe(false);
    expect(namesIn('AppMetrics | where Name in ("palisade.requests", "palisade.tokenz")')).toEqual(["palisade.requests", "palisade.tokenz"]);
    expect(emittedMetrics.get("palisade.requests")?.has("palisade.stage")).toBe(false);
  });
});
