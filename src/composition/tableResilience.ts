import { type TableServiceClientOptions } from "@azure/data-tables";
import { tableDependencyPolicy } from "../adapters/tables/tableDependencyPolicy.js";
import { type Clock } from "../core/clock.js";
import { type Logger } from "../core/logger.js";
import { CircuitBreaker } from "../core/resilience/CircuitBreaker.js";
import { type Settings } from "./settings.js";

/** What every Table client of the app adds to its options: bounded tries, few retries, the shared breaker. */
export type TableResilience = Pick<TableServiceClientOptions, "additionalPolicies" | "retryOptions">;

/**
 * One breaker per process for Table Storage. The SDK's default (3 retries from 1 s up to 64 s apart, no
 * time limit on a try) lets one request wait for minutes on a black-holed connection; this bounds a call
 * to about (retries + 1) × try timeout, and after one such failure the breaker answers at once.
 */
export function tableResilience(settings: Settings, deps: { clock: Clock; logger: Logger }): TableResilience {
  const breaker = new CircuitBreaker(deps.clock, { openForInMs: settings.PALISADE_DEPENDENCY_OPEN_FOR_IN_MS });
  return {
    retryOptions: {
      maxRetries: settings.PALISADE_STORAGE_MAX_RETRIES,
      retryDelayInMs: settings.PALISADE_STORAGE_RETRY_DELAY_IN_MS,
      maxRetryDelayInMs: settings.PALISADE_STORAGE_RETRY_DELAY_IN_MS * 4,
    },
    additionalPolicies: [{ policy: tableDependencyPolicy({ breaker, logger: deps.logger, tryTimeoutInMs: settings.PALISADE_STORAGE_TRY_TIMEOUT_IN_MS }), position: "perCall" }],
  };
}
