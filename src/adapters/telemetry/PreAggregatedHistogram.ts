import { type Attributes } from "@opentelemetry/api";
import { OVERFLOW_ATTRIBUTES } from "./PreAggregatedCounter.js";

/** The SDK's default explicit bucket boundaries (ms for durations). */
export const DEFAULT_BOUNDARIES: readonly number[] = Object.freeze([0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]);

/**
 * One series of a histogram: count, sum, min, max and bucket counts, updated in place. A value goes
 * to the first bucket whose upper boundary it does not exceed (the SDK's rule); the last bucket is
 * unbounded.
 */
export class HistogramSeries {
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly counts: number[];

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    if (!(value >= 0)) return; // negative or NaN: a clock step, not a duration
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const { boundaries } = this;
    let bucket = 0;
    while (bucket < boundaries.length && value > (boundaries[bucket] ?? Number.POSITIVE_INFINITY)) bucket += 1;
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.counts.fill(0);
  }
}

/** A histogram series as it is reported. */
export interface HistogramPoint {
  readonly attributes: Attributes;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
}

export interface HistogramOptions {
  readonly description: string;
  readonly unit?: string;
  readonly boundaries?: readonly number[];
  readonly maxSeries?: number;
}

/**
 * A histogram aggregated in process, as PreAggregatedCounter is for counters: callers resolve a
 * series handle once and `record` into it, with no attribute hashing per sample (the SDK's histogram
 * hashes a request's attributes on every record). The OpenTelemetry API has no instrument that
 * reports pre-aggregated buckets, so the adapter reports these through the metric reader
 * (src/adapters/telemetry/histogramProducer.ts).
 */
export class PreAggregatedHistogram {
  private readonly cells = new Map<string, HistogramSeries>();
  readonly boundaries: readonly number[];
  private readonly maxSeries: number;

  constructor(
    readonly name: string,
    readonly options: HistogramOptions,
  ) {
    this.boundaries = options.boundaries ?? DEFAULT_BOUNDARIES;
    this.maxSeries = options.maxSeries ?? 2_000;
  }

  /** The series for `key` (its attribute values joined), made on first use; past the cap, the overflow series. */
  series(key: string, attributes: () => Attributes): HistogramSeries {
    const cell = this.cells.get(key);
    if (cell !== undefined) return cell;
    if (this.cells.size >= this.maxSeries) {
      let overflow = this.cells.get("\u0000overflow");
      if (overflow === undefined) {
        overflow = new HistogramSeries(OVERFLOW_ATTRIBUTES, this.boundaries);
        this.cells.set("\u0000overflow", overflow);
      }
      return overflow;
    }
    const created = new HistogramSeries(Object.freeze(attributes()), this.boundaries);
    this.cells.set(key, created);
    return created;
  }

  /**
   * The series with samples: cumulative since the start, or (`delta`) since the last collection,
   * in which case they are reset. One reader per histogram.
   */
  collect(delta: boolean): HistogramPoint[] {
    const points: HistogramPoint[] = [];
    for (const cell of this.cells.values()) {
      if (cell.count === 0) continue;
      points.push({ attributes: cell.attributes, count: cell.count, sum: cell.sum, min: cell.min, max: cell.max, boundaries: this.boundaries, counts: [...cell.counts] });
      if (delta) cell.reset();
    }
    return points;
  }
}

/** The in-process histograms of one telemetry setup, for the adapter to report. */
export class InProcessHistograms {
  private readonly histograms: PreAggregatedHistogram[] = [];

  create(name: string, options: HistogramOptions): PreAggregatedHistogram {
    const histogram = new PreAggregatedHistogram(name, options);
    this.histograms.push(histogram);
    return histogram;
  }

  all(): readonly PreAggregatedHistogram[] {
    return this.histograms;
  }
}
