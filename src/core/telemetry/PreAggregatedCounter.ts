import { type Attributes, type Meter, type MetricOptions } from "@opentelemetry/api";

interface Cell {
  readonly attributes: Attributes;
  value: number;
}

/** The OpenTelemetry overflow attribute: where series beyond the cap are folded. */
const OVERFLOW: Attributes = Object.freeze({ "otel.metric.overflow": true });

/**
 * A monotonic counter summed in process and reported as an ObservableCounter when the reader
 * collects. On the request path an add is a string key and a Map lookup — no attribute hashing or
 * allocation by the SDK — which is what keeps telemetry within its CPU budget. `key` must identify
 * the attributes (their values joined); `attributes` is called once per new key.
 */
export class PreAggregatedCounter {
  private readonly cells = new Map<string, Cell>();

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

  add(key: string, value: number, attributes: () => Attributes): void {
    const cell = this.cells.get(key);
    if (cell !== undefined) {
      cell.value += value;
      return;
    }
    if (this.cells.size >= this.maxSeries) {
      const overflow = this.cells.get("\u0000overflow");
      if (overflow !== undefined) overflow.value += value;
      else this.cells.set("\u0000overflow", { attributes: OVERFLOW, value });
      return;
    }
    this.cells.set(key, { attributes: Object.freeze(attributes()), value });
  }
}
