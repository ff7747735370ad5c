import { RestError, type TableServiceClientOptions } from "@azure/data-tables";
import { dependencyUnavailable, isPalisadeError } from "../../core/errors.js";
import { type Logger } from "../../core/logger.js";
import { type CircuitBreaker } from "../../core/resilience/CircuitBreaker.js";

/** The SDK's pipeline policy type, as the Table client takes it. */
export type TablePipelinePolicy = NonNullable<TableServiceClientOptions["additionalPolicies"]>[number]["policy"];

export const TABLE_STORAGE = "table-storage";

export interface TableDependencyPolicyOptions {
  /** The one breaker every Table client of this process shares (Table Storage is one dependency). */
  readonly breaker: CircuitBreaker;
  readonly logger: Logger;
  /** Each try's limit: without one, a black-holed connection waits forever. */
  readonly tryTimeoutInMs: number;
  readonly retryAfterInSeconds?: number;
}

/** A failure that says Table Storage is unreachable or overloaded, rather than that the request was wrong. */
export function isTableTransportFailure(error: unknown, callerAborted: boolean): boolean {
  if (callerAborted) return false;
  if (error instanceof Error && error.name === "AbortError") return true; // our try timeout
  if (error instanceof RestError) return error.statusCode === undefined || error.statusCode === 408 || error.statusCode >= 502;
  return false;
}

/**
 * The adapter boundary for Table Storage outages, as a pipeline policy on every Table client: it bounds
 * each try, turns a refused, reset or black-holed connection (and 502/503/504) into the domain's
 * `dependency_unavailable` 503 with `retry-after`, logs it naming the dependency, and keeps the shared
 * breaker: after the first such failure every call fails at once, until one probe gets through. So a
 * Table outage costs callers a fast 503, not a 500 and not the SDK's full retry schedule each.
 * Placed per call, so the SDK's own retries run inside it before a failure counts.
 */
export function tableDependencyPolicy(options: TableDependencyPolicyOptions): TablePipelinePolicy {
  const { breaker, logger } = options;
  const unavailable = (cause: unknown): Error => dependencyUnavailable(TABLE_STORAGE, { retryAfterInSeconds: options.retryAfterInSeconds ?? 5, cause });
  return {
    name: "palisadeTableDependency",
    async sendRequest(request, next) {
      if (!breaker.permit()) throw unavailable(undefined);
      if (!(request.timeout > 0)) request.timeout = options.tryTimeoutInMs;
      try {
        const response = await next(request);
        if (response.status >= 502 || response.status === 408) {
          if (breaker.failed()) logger.error("dependency.unavailable", { dependency: TABLE_STORAGE, status: response.status });
        } else breaker.succeeded();
        return response;
      } catch (error) {
        if (isPalisadeError(error)) throw error;
        if (!isTableTransportFailure(error, request.abortSignal?.aborted === true)) {
          // The service answered (a 404 or 412 is thrown as an error by the SDK's deserializer): it is up.
          if (error instanceof RestError && error.statusCode !== undefined) breaker.succeeded();
          throw error;
        }
        const opened = breaker.failed();
        logger[opened ? "error" : "warn"]("dependency.unavailable", {
          dependency: TABLE_STORAGE,
          error: error instanceof RestError ? (error.code ?? "RestError") : error instanceof Error ? error.name : "unknown",
          breaker: "open",
        });
        throw unavailable(error);
      }
    },
  };
}
