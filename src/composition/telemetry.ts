import { type TokenCredential } from "@azure/identity";
import { metrics, trace } from "@opentelemetry/api";
import { type TelemetryExporters, loadTelemetryExporters } from "../adapters/telemetry/loadTelemetryExporters.js";
import { type TelemetrySdk, startTelemetrySdk } from "../adapters/telemetry/startTelemetrySdk.js";
import { type AuditOutbox } from "../core/audit/AuditOutbox.js";
import { type Clock } from "../core/clock.js";
import { type Logger } from "../core/logger.js";
import { type EndpointPolicy } from "../core/policy/schema.js";
import { type EndpointHealth } from "../core/routing/EndpointHealth.js";
import { type GatewayTelemetry, untracedGatewayTelemetry } from "../core/telemetry/GatewayTelemetry.js";
import { KeyExpiryTelemetry } from "../adapters/telemetry/KeyExpiryTelemetry.js";
import { ObservedAuditOutbox } from "../adapters/telemetry/ObservedAuditOutbox.js";
import { OtelGatewayTelemetry } from "../adapters/telemetry/OtelGatewayTelemetry.js";
import { observeEndpointHealth } from "../adapters/telemetry/observeEndpointHealth.js";
import { type Settings } from "./settings.js";

const SERVICE_NAME = "palisade";

/** Milliseconds since the epoch with sub-millisecond resolution, for spans and stage latencies. */
export const highResolutionClock: Clock = { nowInMs: () => performance.timeOrigin + performance.now() };

/** What the app wires telemetry into. With PALISADE_TELEMETRY_EXPORTER=none every part is a no-op. */
export interface Telemetry {
  readonly enabled: boolean;
  /** For the governed pipeline's `telemetry`. */
  readonly gateway: GatewayTelemetry;
  /** `record(result.findings)` after each key expiry check. */
  readonly keyExpiry: Pick<KeyExpiryTelemetry, "record">;
  /** Breaker state per endpoint, read from the tracker when metrics are collected. */
  observeEndpointHealth(health: Pick<EndpointHealth, "snapshot">, endpoints: readonly Pick<EndpointPolicy, "id" | "region">[]): void;
  /** The outbox, counting events stored and drained. */
  observeOutbox(outbox: AuditOutbox): AuditOutbox;
  shutdown(): Promise<void>;
}

export interface CreateTelemetryOptions {
  readonly logger: Logger;
  /** The app's managed identity: Application Insights accepts Entra ID tokens only (local auth is off). */
  readonly credential?: TokenCredential;
  readonly clock?: Clock;
  /** Replaces the exporters PALISADE_TELEMETRY_EXPORTER selects (tests). */
  readonly exporters?: TelemetryExporters;
  /** Register the providers as the process's global ones (default true), so other instrumentation shares them. */
  readonly registerGlobal?: boolean;
  readonly exportIntervalInMs?: number;
  /**
   * The share of requests traced (default 0.01): metrics count every request; traces and stage latencies
   * are recorded for this share, which is what keeps telemetry within 10% of a request's CPU.
   */
  readonly traceSampleRatio?: number;
}

export const DEFAULT_TRACE_SAMPLE_RATIO = 0.01;

const disabled: Telemetry = {
  enabled: false,
  gateway: untracedGatewayTelemetry,
  keyExpiry: { record: () => undefined },
  observeEndpointHealth: () => undefined,
  observeOutbox: (outbox) => outbox,
  shutdown: async () => undefined,
};

/**
 * Telemetry from settings: `none` (default) costs nothing — no SDK is loaded and the gateway records
 * nothing; `console`, `otlp` and `azure-monitor` load their exporters, falling back to `none` with a
 * warning when a package or the connection string is missing.
 */
export async function createTelemetry(
  settings: Pick<Settings, "PALISADE_TELEMETRY_EXPORTER" | "APPLICATIONINSIGHTS_CONNECTION_STRING">,
  options: CreateTelemetryOptions,
): Promise<Telemetry> {
  const exporters =
    options.exporters ??
    (await loadTelemetryExporters(settings.PALISADE_TELEMETRY_EXPORTER, {
      logger: options.logger,
      connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
      credential: options.credential,
    }));
  if (exporters === null) return disabled;

  let sdk: TelemetrySdk;
  try {
    sdk = await startTelemetrySdk(exporters, { serviceName: SERVICE_NAME, ...(options.exportIntervalInMs === undefined ? {} : { exportIntervalInMs: options.exportIntervalInMs }) });
  } catch (error) {
    options.logger.warn("the OpenTelemetry SDK could not be started; telemetry is off", { error: error instanceof Error ? error.name : "unknown" });
    return disabled;
  }
  if (options.registerGlobal ?? true) {
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    metrics.setGlobalMeterProvider(sdk.meterProvider);
  }
  const tracer = sdk.tracerProvider.getTracer(SERVICE_NAME);
  const meter = sdk.meterProvider.getMeter(SERVICE_NAME);
  options.logger.info("telemetry on", { exporter: options.exporters ? "custom" : settings.PALISADE_TELEMETRY_EXPORTER, traceSampleRatio: options.traceSampleRatio ?? DEFAULT_TRACE_SAMPLE_RATIO });
  return {
    enabled: true,
    gateway: new OtelGatewayTelemetry({ tracer, meter, histograms: sdk.histograms, clock: options.clock ?? highResolutionClock, traceSampleRatio: Math.min(1, Math.max(0, options.traceSampleRatio ?? DEFAULT_TRACE_SAMPLE_RATIO)) }),
    keyExpiry: new KeyExpiryTelemetry(meter),
    observeEndpointHealth: (health, endpoints) => observeEndpointHealth(meter, health, endpoints),
    observeOutbox: (outbox) => new ObservedAuditOutbox(outbox, meter),
    shutdown: () => sdk.shutdown(),
  };
}

let shared: Promise<Telemetry> | undefined;

/** One Telemetry per process, shared by the app's services and the timers (the first caller's options win). */
export function getTelemetry(settings: Parameters<typeof createTelemetry>[0], options: CreateTelemetryOptions): Promise<Telemetry> {
  shared ??= createTelemetry(settings, options);
  return shared;
}
