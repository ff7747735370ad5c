import { ExportResultCode } from "@opentelemetry/core";
import { AggregationTemporality, InMemoryMetricExporter, InstrumentType } from "@opentelemetry/sdk-metrics";
import { type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { loadTelemetryExporters } from "../../../src/adapters/telemetry/loadTelemetryExporters.js";
import { createTelemetry } from "../../../src/composition/telemetry.js";
import { untracedGatewayTelemetry } from "../../../src/core/telemetry/GatewayTelemetry.js";
import { RecordingLogger, gatewayHarness } from "../../core/gateway/gatewayHarness.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";

/** Keeps what it was given even after shutdown (the SDK's in-memory exporter clears itself then). */
class KeepingSpanExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.spans.push(...spans);
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

describe("loadTelemetryExporters", () => {
  it("none: no exporters, nothing loaded", async () => {
    const imported: string[] = [];
    const logger = new RecordingLogger();
    expect(await loadTelemetryExporters("none", { logger, importModule: async (name) => imported.push(name) })).toBeNull();
    expect(imported).toEqual([]);
  });

  it("console: the SDK's console exporters", async () => {
    const exporters = await loadTelemetryExporters("console", { logger: new RecordingLogger() });
    expect(exporters?.spans.constructor.name).toBe("ConsoleSpanExporter");
    expect(exporters?.metrics.constructor.name).toBe("ConsoleMetricExporter");
  });

  it("azure-monitor without a connection string, or without its package: off, with a warning, never a crash", async () => {
    const logger = new RecordingLogger();
    expect(await loadTelemetryExporters("azure-monitor", { logger })).toBeNull();
    expect(await loadTelemetryExporters("azure-monitor", { logger, connectionString: "InstrumentationKey=00000000-0000-0000-0000-000000000000", importModule: async () => ({}) })).toBeNull();
    expect(await loadTelemetryExporters("otlp", { logger, importModule: (name) => Promise.reject(new Error(`Cannot find package '${name}'`)) })).toBeNull();
    expect(logger.lines.filter((line) => line.level === "warn").map((line) => line.fields?.exporter)).toEqual(["azure-monitor", "azure-monitor", "otlp"]);
  });

  it("azure-monitor: the exporters get the connection string and the managed identity", async () => {
    const made: { name: string; options: unknown }[] = [];
    const fakeClass = (name: string) =>
      class {
        constructor(options: unknown) {
          made.push({ name, options });
        }
        export(): void {}
        async forceFlush(): Promise<void> {}
        async shutdown(): Promise<void> {}
      };
    const credential = { getToken: async () => null };
    const module = { AzureMonitorTraceExporter: fakeClass("trace"), AzureMonitorMetricExporter: fakeClass("metric") };
    const imported: string[] = [];
    const exporters = await loadTelemetryExporters("azure-monitor", {
      logger: new RecordingLogger(),
      connectionString: "InstrumentationKey=1;IngestionEndpoint=https://example.invalid/",
      credential,
      importModule: async (name) => {
        imported.push(name);
        return module;
      },
    });
    expect(exporters).not.toBeNull();
    expect(imported).toEqual(["@azure/monitor-opentelemetry-exporter"]);
    expect(made.map((entry) => entry.name)).toEqual(["trace", "metric"]);
    for (const entry of made) expect(entry.options).toEqual({ connectionString: "InstrumentationKey=1;IngestionEndpoint=https://example.invalid/", credential });
    // Application Insights sums each export: counters go as deltas.
    expect(exporters?.metrics.selectAggregationTemporality?.(InstrumentType.COUNTER)).toBe(AggregationTemporality.DELTA);
  });
});

describe("createTelemetry", () => {
  it("samples traces at the ratio, even when the caller says sampled, and still counts every request", async () => {
    const spans = new KeepingSpanExporter();
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = await createTelemetry(
      { PALISADE_TELEMETRY_EXPORTER: "none", APPLICATIONINSIGHTS_CONNECTION_STRING: undefined },
      { logger: new RecordingLogger(), exporters: { spans, metrics }, registerGlobal: false, exportIntervalInMs: 3_600_000, traceSampleRatio: 0 },
    );
    const h = await gatewayHarness({ telemetry: () => telemetry.gateway });
    await h.service.handle(h.request({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }));
    await h.service.handle(h.request());
    await telemetry.shutdown();
    expect(spans.spans).toEqual([]);
    // Unsampled, the upstream still gets the caller's trace context, and the audit event its trace id.
    expect(h.provider.calls[0]?.options.traceparent).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(h.audit.events[0]?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    const requests = metrics
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
      .filter((metric) => metric.descriptor.name === "palisade.requests")
      .flatMap((metric) => metric.dataPoints.map((point) => point.value));
    expect(requests).toEqual([2]);
  });

  it("none: every part is a no-op and the gateway is untraced", async () => {
    const telemetry = await createTelemetry({ PALISADE_TELEMETRY_EXPORTER: "none", APPLICATIONINSIGHTS_CONNECTION_STRING: undefined }, { logger: new RecordingLogger() });
    expect(telemetry.enabled).toBe(false);
    expect(telemetry.gateway).toBe(untracedGatewayTelemetry);
    const outbox = new InMemoryAuditOutbox();
    expect(telemetry.observeOutbox(outbox)).toBe(outbox);
    await telemetry.shutdown();
  });

  it("with exporters: a governed completion's spans and metrics reach them, under service.name palisade", async () => {
    const spans = new KeepingSpanExporter();
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = await createTelemetry(
      { PALISADE_TELEMETRY_EXPORTER: "none", APPLICATIONINSIGHTS_CONNECTION_STRING: undefined },
      { logger: new RecordingLogger(), exporters: { spans, metrics }, registerGlobal: false, exportIntervalInMs: 3_600_000, traceSampleRatio: 1 },
    );
    expect(telemetry.enabled).toBe(true);
    const h = await gatewayHarness({ telemetry: () => telemetry.gateway });
    telemetry.observeEndpointHealth(h.health, h.policy.endpoints);
    telemetry.keyExpiry.record([{ kind: "api-key", id: "k1", project: "acme", daysToExpiry: 5 }]);
    await h.service.handle(h.request());
    await telemetry.shutdown();

    const root = spans.spans.find((span) => span.name === "palisade.chat_completion");
    expect(root?.resource.attributes["service.name"]).toBe("palisade");
    expect(spans.spans.length).toBeGreaterThan(5);
    const names = new Set(metrics.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name))));
    for (const name of ["palisade.requests", "palisade.tokens", "palisade.request.duration", "palisade.stage.duration", "palisade.endpoint.breaker_state", "palisade.credential.days_to_expiry"]) {
      expect(names).toContain(name);
    }
  });
});
