import { type Attributes } from "@opentelemetry/api";
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type Clock } from "../../../src/core/clock.js";
import { histogramProducer } from "../../../src/adapters/telemetry/histogramProducer.js";
import { OtelGatewayTelemetry } from "../../../src/adapters/telemetry/OtelGatewayTelemetry.js";
import { InProcessHistograms } from "../../../src/adapters/telemetry/PreAggregatedHistogram.js";

/** Collects on demand: the test decides when metrics are read. */
class TestMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One data point, flattened: counters and gauges carry `value`, histograms `sum` and `count`. */
export interface Point {
  readonly name: string;
  readonly attributes: Attributes;
  readonly value?: number;
  readonly sum?: number;
  readonly count?: number;
}

/** The SDK with in-memory exporters, and an OtelGatewayTelemetry over it. */
export function telemetryFixture() {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  // The in-process histograms are reported by the reader, as startTelemetrySdk wires them.
  const histograms = new InProcessHistograms();
  const reader = new TestMetricReader({ metricProducers: [histogramProducer(histograms, { scope: "palisade-test", temporality: AggregationTemporality.CUMULATIVE })] });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracer = tracerProvider.getTracer("palisade-test");
  const meter = meterProvider.getMeter("palisade-test");

  return {
    tracer,
    meter,
    histograms,
    create: (clock: Clock) => new OtelGatewayTelemetry({ tracer, meter, histograms, clock }),
    createWith: (options: { traceSampleRatio: number; random?: () => number }) => (clock: Clock) => new OtelGatewayTelemetry({ tracer, meter, histograms, clock, ...options }),
    spans: (): ReadableSpan[] => spanExporter.getFinishedSpans(),
    async points(): Promise<Point[]> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new Error(`metric collection failed: ${errors.length} errors`);
      const points: Point[] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            const value = point.value;
            if (metric.dataPointType === DataPointType.HISTOGRAM && typeof value === "object") {
              points.push({ name: metric.descriptor.name, attributes: point.attributes, sum: value.sum, count: value.count });
            } else if (typeof value === "number") {
              points.push({ name: metric.descriptor.name, attributes: point.attributes, value });
            }
          }
        }
      }
      return points;
    },
    async shutdown(): Promise<void> {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Points of `name` whose attributes include every pair of `match`. */
export function pointsOf(points: readonly Point[], name: string, match: Attributes = {}): Point[] {
  return points.filter((point) => point.name === name && Object.entries(match).every(([key, value]) => point.attributes[key] === value));
}

export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const matching = spans.filter((span) => span.name === name);
  if (matching.length !== 1) throw new Error(`expected one span named ${name}, found ${matching.length}: ${spans.map((span) => span.name).join(", ")}`);
  const [span] = matching;
  if (span === undefined) throw new Error("unreachable");
  return span;
}

/** Everything a span carries that an exporter would send, as one string (to search for leaks). */
export function exported(spans: readonly ReadableSpan[], points: readonly Point[]): string {
  return JSON.stringify({
    spans: spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
      status: span.status,
      links: span.links,
    })),
    points,
  });
}
