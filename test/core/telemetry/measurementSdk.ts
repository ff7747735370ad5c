/**
 * The OpenTelemetry SDK as `startTelemetrySdk` sets it up, for the telemetry cost measurements
 * (measureTelemetryCost.ts, measureTelemetryPerRequest.ts): spans through a BatchSpanProcessor to the
 * given exporter, metrics (with the in-process histograms) to an exporter that drops them.
 */
import { type Meter, type Tracer, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { AggregationTemporality, MeterProvider, type PushMetricExporter, PeriodicExportingMetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { AlwaysOnSampler, BasicTracerProvider, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { histogramProducer } from "../../../src/adapters/telemetry/histogramProducer.js";
import { highResolutionClock } from "../../../src/composition/telemetry.js";
import { InProcessHistograms } from "../../../src/adapters/telemetry/PreAggregatedHistogram.js";
import { OtelGatewayTelemetry } from "../../../src/adapters/telemetry/OtelGatewayTelemetry.js";

/** Metrics go nowhere: the cost measured is recording and collecting them, not a network. */
class DroppingMetricExporter implements PushMetricExporter {
  export(_metrics: ResourceMetrics, done: (result: { code: ExportResultCode }) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export interface MeasurementSdk {
  /** A new OtelGatewayTelemetry on this SDK. */
  readonly telemetry: () => OtelGatewayTelemetry;
  /** What the exporters would do with what was recorded so far (inside the timed window). */
  readonly flush: () => Promise<void>;
  readonly shutdown: () => Promise<void>;
}

/** `processor` null: no trace SDK at all, the API's no-op tracer (a control: metrics alone through the SDK). */
export function measurementSdk(traceSampleRatio: number, processor: SpanProcessor | null): MeasurementSdk {
  // As startTelemetrySdk: the SDK records what it is given; OtelGatewayTelemetry decides what that is.
  const tracerProvider = processor === null ? null : new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [processor] });
  const histograms = new InProcessHistograms();
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new DroppingMetricExporter(),
        exportIntervalMillis: 3_600_000,
        metricProducers: [histogramProducer(histograms, { scope: "palisade", temporality: AggregationTemporality.CUMULATIVE })],
      }),
    ],
  });
  const tracer: Tracer = tracerProvider === null ? trace.getTracer("palisade") : tracerProvider.getTracer("palisade");
  const meter: Meter = meterProvider.getMeter("palisade");
  return {
    telemetry: () => new OtelGatewayTelemetry({ tracer, meter, histograms, clock: highResolutionClock, traceSampleRatio }),
    flush: async () => {
      await tracerProvider?.forceFlush();
      await meterProvider.forceFlush();
    },
    shutdown: async () => {
      await tracerProvider?.shutdown();
      await meterProvider.shutdown();
    },
  };
}
