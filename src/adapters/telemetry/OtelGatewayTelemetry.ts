import { type Meter, ROOT_CONTEXT, type SpanContext, TraceFlags, type Tracer, trace } from "@opentelemetry/api";
import { type Clock } from "../../core/clock.js";
import { type GatewayTelemetry, type RequestTelemetry } from "../../core/telemetry/GatewayTelemetry.js";
import { METRIC } from "../../core/telemetry/telemetryAttributes.js";
import { PreAggregatedCounter } from "./PreAggregatedCounter.js";
import { type InProcessHistograms } from "./PreAggregatedHistogram.js";
import { parseTraceparent } from "../../core/telemetry/traceContext.js";
import { SeriesCache } from "./TelemetrySeries.js";
import { TracedRequest } from "./TracedRequest.js";

export { ROOT_SPAN_NAME } from "./TracedRequest.js";

export interface OtelGatewayTelemetryOptions {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /**
   * Where the duration histograms are aggregated (in process; the adapter's metric reader reports
   * them: startTelemetrySdk's `histograms`).
   */
  readonly histograms: InProcessHistograms;
  /**
   * Times spans and latency samples. Production passes a high-resolution clock
   * (`performance.timeOrigin + performance.now()`); tests a ManualClock, so durations are exact.
   */
  readonly clock: Clock;
  /**
   * The share of requests traced, in [0, 1] (default 1). Decided here, before the SDK is touched, so an
   * unsampled request costs its metrics only. A caller's "not sampled" is always honoured; a caller's
   * "sampled" is honoured up to the ratio (by trace id, as TraceIdRatioBased does).
   */
  readonly traceSampleRatio?: number;
  /** Uniform in [0, 1); tests pass their own. */
  readonly random?: () => number;
}

/**
 * Governed completions as OpenTelemetry traces and metrics, through `@opentelemetry/api` only: the
 * API is a pure, vendor-neutral port (no I/O, no-op until an SDK is registered), so core depends on it
 * the way it depends on zod; the SDK and exporters are wired in `src/adapters/telemetry`.
 */
export class OtelGatewayTelemetry implements GatewayTelemetry {
  private readonly series: SeriesCache;

  constructor(private readonly options: OtelGatewayTelemetryOptions) {
    const { meter, histograms } = options;
    this.series = new SeriesCache({
      requests: new PreAggregatedCounter(meter, METRIC.requests, { description: "Governed chat completions, by project, model, decision and status." }),
      requestDuration: histograms.create(METRIC.requestDuration, { description: "Time from request to decision.", unit: "ms" }),
      tokens: new PreAggregatedCounter(meter, METRIC.tokens, { description: "Input and output tokens of upstream calls, by project and model.", unit: "{token}" }),
      cost: new PreAggregatedCounter(meter, METRIC.cost, { description: "Cost of upstream calls as priced by the policy.", unit: "USD" }),
      stageDuration: histograms.create(METRIC.stageDuration, { description: "Latency of each stage of a governed completion (requests whose trace is sampled).", unit: "ms" }),
      dlpFindings: new PreAggregatedCounter(meter, METRIC.dlpFindings, { description: "Sensitive-data findings, by entity type, direction and action." }),
      limitRejections: new PreAggregatedCounter(meter, METRIC.limitRejections, { description: "Requests refused by a rate limit or a budget." }),
      upstreamAttempts: new PreAggregatedCounter(meter, METRIC.upstreamAttempts, { description: "Upstream attempts, by endpoint and outcome." }),
      failovers: new PreAggregatedCounter(meter, METRIC.failovers, { description: "Failovers from one endpoint to another of the same plan." }),
      auditPublishFailures: new PreAggregatedCounter(meter, METRIC.auditPublishFailures, { description: "Requests whose audit events could not be published." }),
    });
  }

  startRequest(traceparent: string | undefined): RequestTelemetry {
    const remote = parseTraceparent(traceparent);
    if (!this.sampled(remote)) return new TracedRequest(this.options, this.series, null, traceparent, remote?.traceId);
    const parent = remote === null ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote);
    return new TracedRequest(this.options, this.series, parent, traceparent, remote?.traceId);
  }

  private sampled(remote: SpanContext | null): boolean {
    const ratio = this.options.traceSampleRatio ?? 1;
    if (remote !== null) return (remote.traceFlags & TraceFlags.SAMPLED) !== 0 && (ratio >= 1 || traceIdBelow(remote.traceId, ratio));
    return ratio >= 1 || (this.options.random ?? Math.random)() < ratio;
  }
}

/** TraceIdRatioBased's rule: the trace id's low 8 hex digits, as a fraction of 2^32, below the ratio. */
function traceIdBelow(traceId: string, ratio: number): boolean {
  return Number.parseInt(traceId.slice(-8), 16) < ratio * 0x1_0000_0000;
}

