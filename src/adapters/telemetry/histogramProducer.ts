import { type HrTime, ValueType } from "@opentelemetry/api";
import { emptyResource } from "@opentelemetry/resources";
import { AggregationTemporality, type CollectionResult, DataPointType, type HistogramMetricData, type MetricProducer } from "@opentelemetry/sdk-metrics";
import { type InProcessHistograms } from "./PreAggregatedHistogram.js";

export interface HistogramProducerOptions {
  /** The instrumentation scope the histograms are reported under (the meter's name). */
  readonly scope: string;
  /** What the exporter wants for histograms (the OTLP default is cumulative; Application Insights takes deltas). */
  readonly temporality: AggregationTemporality;
}

/** Now as OpenTelemetry's [seconds, nanoseconds], from the monotonic clock anchored at the epoch. */
function now(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1_000_000)];
}

/**
 * Reports the in-process histograms (core's PreAggregatedHistogram) through the SDK's metric reader,
 * as explicit-bucket histograms, beside what the meter's own instruments report. Loaded only with
 * the SDK (`import()` in startTelemetrySdk).
 */
const EMPTY_RESOURCE = emptyResource();

export function histogramProducer(histograms: InProcessHistograms, options: HistogramProducerOptions): MetricProducer {
  const delta = options.temporality === AggregationTemporality.DELTA;
  const startedAt = now();
  let lastCollectedAt = startedAt;
  return {
    async collect(): Promise<CollectionResult> {
      const endTime = now();
      const startTime = delta ? lastCollectedAt : startedAt;
      lastCollectedAt = endTime;
      const metrics: HistogramMetricData[] = [];
      for (const histogram of histograms.all()) {
        const points = histogram.collect(delta);
        if (points.length === 0) continue;
        metrics.push({
          descriptor: { name: histogram.name, description: histogram.options.description, unit: histogram.options.unit ?? "", valueType: ValueType.DOUBLE },
          aggregationTemporality: options.temporality,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: points.map((point) => ({
            startTime,
            endTime,
            attributes: point.attributes,
            value: { buckets: { boundaries: [...point.boundaries], counts: [...point.counts] }, sum: point.sum, count: point.count, min: point.min, max: point.max },
          })),
        });
      }
      return {
        // The reader keeps its own resource and only takes the scope metrics from a producer.
        resourceMetrics: { resource: EMPTY_RESOURCE, scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: options.scope }, metrics }] },
        errors: [],
      };
    },
  };
}
