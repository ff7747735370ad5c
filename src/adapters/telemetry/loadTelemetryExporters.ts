import { type TokenCredential } from "@azure/identity";
import { type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { type Logger } from "../../core/logger.js";

export type TelemetryExporterKind = "none" | "console" | "otlp" | "azure-monitor";

export interface TelemetryExporters {
  readonly spans: SpanExporter;
  readonly metrics: PushMetricExporter;
}

export interface LoadTelemetryExportersOptions {
  readonly logger: Logger;
  /** Application Insights connection string (azure-monitor). */
  readonly connectionString?: string | undefined;
  /** Entra ID credential for Application Insights when local authentication is disabled. */
  readonly credential?: TokenCredential | undefined;
  /** Replaces `import()` (tests); receives the package name. */
  readonly importModule?: (specifier: string) => Promise<unknown>;
}

type ExporterClass<T> = new (options?: Record<string, unknown>) => T;

/** `import()` through a variable: optional packages need not be installed for the app to compile or start. */
const importOptional = (specifier: string): Promise<unknown> => import(specifier);

function exportedClass<T>(module: unknown, name: string): ExporterClass<T> | null {
  if (typeof module !== "object" || module === null || !(name in module)) return null;
  const value: unknown = (module as Record<string, unknown>)[name];
  return typeof value === "function" ? (value as ExporterClass<T>) : null;
}

async function loadPair(
  importModule: (specifier: string) => Promise<unknown>,
  spans: { readonly module: string; readonly name: string },
  metrics: { readonly module: string; readonly name: string },
  options: Record<string, unknown>,
): Promise<TelemetryExporters> {
  const spanModule = await importModule(spans.module);
  const metricModule = spans.module === metrics.module ? spanModule : await importModule(metrics.module);
  const SpanExporterClass = exportedClass<SpanExporter>(spanModule, spans.name);
  const MetricExporterClass = exportedClass<PushMetricExporter>(metricModule, metrics.name);
  if (SpanExporterClass === null || MetricExporterClass === null) throw new Error(`${spans.module} does not export ${spans.name} and ${metrics.name}`);
  return { spans: new SpanExporterClass(options), metrics: new MetricExporterClass(options) };
}

/**
 * Application Insights adds up what each export carries (AppMetrics.Sum per interval): counters must
 * reach it as deltas, whatever the exporter's own default.
 */
async function withDeltaTemporality(exporter: PushMetricExporter): Promise<PushMetricExporter> {
  const { AggregationTemporality } = await import("@opentelemetry/sdk-metrics");
  return {
    export: (metrics, done) => exporter.export(metrics, done),
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: () => AggregationTemporality.DELTA,
    ...(exporter.selectAggregation === undefined ? {} : { selectAggregation: exporter.selectAggregation.bind(exporter) }),
  };
}

/**
 * The span and metric exporters for PALISADE_TELEMETRY_EXPORTER, or null for `none` — and null, with a
 * warning, when the exporter's package is not installed or not configured: telemetry must never stop
 * the gateway from starting.
 *
 * - console: `@opentelemetry/sdk-trace-base` and `@opentelemetry/sdk-metrics` console exporters.
 * - otlp: `@opentelemetry/exporter-trace-otlp-http` and `@opentelemetry/exporter-metrics-otlp-http`
 *   (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318).
 * - azure-monitor: `@azure/monitor-opentelemetry-exporter`, with the managed identity as credential.
 */
export async function loadTelemetryExporters(kind: TelemetryExporterKind, options: LoadTelemetryExportersOptions): Promise<TelemetryExporters | null> {
  const importModule = options.importModule ?? importOptional;
  try {
    switch (kind) {
      case "none":
        return null;
      case "console":
        return await loadPair(importModule, { module: "@opentelemetry/sdk-trace-base", name: "ConsoleSpanExporter" }, { module: "@opentelemetry/sdk-metrics", name: "ConsoleMetricExporter" }, {});
      case "otlp":
        return await loadPair(
          importModule,
          { module: "@opentelemetry/exporter-trace-otlp-http", name: "OTLPTraceExporter" },
          { module: "@opentelemetry/exporter-metrics-otlp-http", name: "OTLPMetricExporter" },
          {},
        );
      case "azure-monitor": {
        if (options.connectionString === undefined) {
          options.logger.warn("telemetry exporter azure-monitor needs APPLICATIONINSIGHTS_CONNECTION_STRING; telemetry is off", { exporter: kind });
          return null;
        }
        const pair = await loadPair(
          importModule,
          { module: "@azure/monitor-opentelemetry-exporter", name: "AzureMonitorTraceExporter" },
          { module: "@azure/monitor-opentelemetry-exporter", name: "AzureMonitorMetricExporter" },
          { connectionString: options.connectionString, ...(options.credential === undefined ? {} : { credential: options.credential }) },
        );
        return { spans: pair.spans, metrics: await withDeltaTemporality(pair.metrics) };
      }
    }
  } catch (error) {
    options.logger.warn("telemetry exporter could not be loaded; telemetry is off", { exporter: kind, error: error instanceof Error ? error.name : "unknown" });
    return null;
  }
}
