import { type Attributes, type Meter, type MetricOptions } from "@opentelemetry/api";

/** One series of a pre-aggregated counter: a handle callers may keep and add to directly. */
export interface CounterSeries {
  readonly attributes: Attributes;
  value: number;
}

/** The OpenTelemetry overflow attribute: where series beyond the cap are folded. */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ "otel.metric.overflow": true });
const OVERFLOW_KEY = "\u0000overflow";

/**
 * A monotonic counter summed in process and reported as an ObservableCounter when the reader
 * collects. On the request path an add is `series.value += n` on a handle the caller resolved once
 * (`series`), or a string key and a Map lookup (`add`) — never attribute hashing or allocation by the
 * SDK — which is what keeps telemetry within its CPU budget. `key` must identify the attributes (their
 * values joined); `attributes` is called once per new key.
 */
export class PreAggregatedCounter {
  private readonly cells = new Map<string, CounterSeries>();

  constructor(
    meter: Meter,
    name: string,
    options: MetricOptions,
    private readonly maxSeries = 2_000,
  ) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const cell of this.cells.values()) result.observe(cell.value, cell.attributes);
    });
  }

  /** The series for `key`, made on first use; past the cap, the overflow series. */
  series(key: string, attributes: () => Attributes): CounterSeries {
    const cell = this.cells.get(key);
    if (cell !== undefined) return cell;
    if (this.cells.size >= this.maxSeries) {
      let overflow = this.cells.get(OVERFLOW_KEY);
      if (overflow === undefined) {
        overflow = { attributes: OVERFLOW_ATTRIBUTES, value: 0 };
        this.cells.set(OVERFLOW_KEY, overflow);
      }
      return overflow;
    }
    const created: CounterSeries = { attributes: Object.freeze(attributes()), value: 0 };
    this.cells.set(key, created);
    return created;
  }

  add(key: string, value: number, attributes: () => Attributes): void {
    this.series(key, attributes).value += value;
  }
}
