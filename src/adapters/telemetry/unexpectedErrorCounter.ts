import { type Counter, type MeterProvider, metrics } from "@opentelemetry/api";

export const UNEXPECTED_ERRORS_METRIC = "palisade.errors.unexpected";

let current: { provider: MeterProvider; counter: Counter } | undefined;

/**
 * Counts an error nobody anticipated (answered `500 internal_error`), by function and error class.
 * It records on the process's global meter provider, which `createTelemetry` registers, so it needs
 * no app services: it counts also when building them is what failed. With telemetry off it is the
 * API's no-op. The counter follows the provider if it is replaced (tests register their own).
 */
export function countUnexpectedError(functionName: string, errorType: string): void {
  const provider = metrics.getMeterProvider();
  if (current?.provider !== provider) {
    const counter = provider.getMeter("palisade").createCounter(UNEXPECTED_ERRORS_METRIC, { description: "Errors answered 500 internal_error, by function and error class." });
    current = { provider, counter };
  }
  current.counter.add(1, { "faas.name": functionName, "error.type": errorType });
}
