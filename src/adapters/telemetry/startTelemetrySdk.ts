import { type MeterProvider as MeterProviderApi, type TracerProvider } from "@opentelemetry/api";
import { InProcessHistograms } from "./PreAggregatedHistogram.js";
import { type TelemetryExporters } from "./loadTelemetryExporters.js";

export interface TelemetrySdk {
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProviderApi;
  /** Histograms aggregated in process, reported by the same metric reader (histogramProducer). */
  readonly histograms: InProcessHistograms;
  /** Flushes what is buffered, then stops exporting. */
  shutdown(): Promise<void>;
}

export interface StartTelemetrySdkOptions {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** How often metrics are exported (default 60 s, Application Insights' own interval). */
  readonly exportIntervalInMs?: number;
}

/**
 * The OpenTelemetry SDK over the given exporters: spans batched (never exported on the request path),
 * metrics read and pushed periodically. Loaded with `import()`, so with telemetry off none of the SDK is.
 */
export async function startTelemetrySdk(exporters: TelemetryExporters, options: StartTelemetrySdkOptions): Promise<TelemetrySdk> {
  const [{ AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor }, { AggregationTemporality, InstrumentType, MeterProvider, PeriodicExportingMetricReader }, { resourceFromAttributes }, { histogramProducer }] =
    await Promise.all([import("@opentelemetry/sdk-trace-base"), import("@opentelemetry/sdk-metrics"), import("@opentelemetry/resources"), import("./histogramProducer.js")]);
  const resource = resourceFromAttributes({ "service.name": options.serviceName, ...(options.serviceVersion === undefined ? {} : { "service.version": options.serviceVersion }) });
  // Sampling is decided before a span is started (OtelGatewayTelemetry's traceSampleRatio), so an
  // unsampled request never reaches the SDK; what does reach it is recorded.
  const tracerProvider = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor(exporters.spans)] });
  const histograms = new InProcessHistograms();
  const temporality = exporters.metrics.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ?? AggregationTemporality.CUMULATIVE;
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: exporters.metrics,
        exportIntervalMillis: options.exportIntervalInMs ?? 60_000,
        metricProducers: [histogramProducer(histograms, { scope: options.serviceName, temporality })],
      }),
    ],
  });
  return {
    tracerProvider,
    meterProvider,
    histograms,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
