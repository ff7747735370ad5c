import { AggregationTemporality, DataPointType, type HistogramMetricData } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { histogramProducer } from "../../../src/adapters/telemetry/histogramProducer.js";
import { InProcessHistograms } from "../../../src/adapters/telemetry/PreAggregatedHistogram.js";

async function collected(producer: ReturnType<typeof histogramProducer>): Promise<HistogramMetricData[]> {
  const { resourceMetrics, errors } = await producer.collect();
  expect(errors).toEqual([]);
  return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).filter((metric): metric is HistogramMetricData => metric.dataPointType === DataPointType.HISTOGRAM);
}

describe("PreAggregatedHistogram and histogramProducer", () => {
  it("aggregates in process: buckets by the SDK's rule, sum, count, min and max, one series per key", async () => {
    const histograms = new InProcessHistograms();
    const latency = histograms.create("test.latency", { description: "d", unit: "ms", boundaries: [0, 5, 10] });
    let made = 0;
    const series = latency.series("a", () => {
      made += 1;
      return { k: "a" };
    });
    for (const value of [0, 5, 5.5, 10, 12, -1, Number.NaN]) series.record(value);
    expect(latency.series("a", () => ({ k: "again" }))).toBe(series);
    expect(made).toBe(1);

    const [metric] = await collected(histogramProducer(histograms, { scope: "palisade", temporality: AggregationTemporality.CUMULATIVE }));
    expect(metric?.descriptor).toMatchObject({ name: "test.latency", unit: "ms", description: "d" });
    expect(metric?.dataPoints.map((point) => [point.attributes, point.value])).toEqual([
      [{ k: "a" }, { buckets: { boundaries: [0, 5, 10], counts: [1, 1, 2, 1] }, sum: 32.5, count: 5, min: 0, max: 12 }],
    ]);
  });

  it("reports cumulative state, or deltas since the last collection (Application Insights)", async () => {
    const histograms = new InProcessHistograms();
    const latency = histograms.create("test.latency", { description: "d" });
    const cumulative = histogramProducer(histograms, { scope: "palisade", temporality: AggregationTemporality.CUMULATIVE });
    latency.series("a", () => ({ k: "a" })).record(3);
    expect((await collected(cumulative))[0]?.dataPoints[0]?.value.count).toBe(1);
    latency.series("a", () => ({ k: "a" })).record(4);
    expect((await collected(cumulative))[0]?.dataPoints[0]?.value).toMatchObject({ count: 2, sum: 7 });

    const deltas = new InProcessHistograms();
    const perInterval = deltas.create("test.latency", { description: "d" });
    const delta = histogramProducer(deltas, { scope: "palisade", temporality: AggregationTemporality.DELTA });
    perInterval.series("a", () => ({ k: "a" })).record(3);
    const first = await collected(delta);
    expect(first[0]?.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(first[0]?.dataPoints[0]?.value).toMatchObject({ count: 1, sum: 3, min: 3, max: 3 });
    expect(await collected(delta)).toEqual([]);
    perInterval.series("a", () => ({ k: "a" })).record(9);
    const third = await collected(delta);
    expect(third[0]?.dataPoints[0]?.value).toMatchObject({ count: 1, sum: 9, min: 9, max: 9 });
    // Each interval starts where the last collection ended, not at the start.
    const seconds = (time: readonly number[] | undefined): number => (time?.[0] ?? Number.NaN) + (time?.[1] ?? Number.NaN) / 1e9;
    expect(seconds(third[0]?.dataPoints[0]?.startTime)).toBeGreaterThanOrEqual(seconds(first[0]?.dataPoints[0]?.endTime));
  });

  it("folds series beyond the cap into the overflow series", async () => {
    const histograms = new InProcessHistograms();
    const latency = histograms.create("test.latency", { description: "d", maxSeries: 2 });
    for (const key of ["a", "b", "c", "d"]) latency.series(key, () => ({ k: key })).record(1);
    const [metric] = await collected(histogramProducer(histograms, { scope: "palisade", temporality: AggregationTemporality.CUMULATIVE }));
    expect(metric?.dataPoints.map((point) => [point.attributes, point.value.count])).toEqual([
      [{ k: "a" }, 1],
      [{ k: "b" }, 1],
      [{ "otel.metric.overflow": true }, 2],
    ]);
  });
});
