import { type Clock } from "../clock.js";
import { ensureError } from "../errors.js";
import { type Logger } from "../logger.js";

export interface HoldOptions {
  /** The longest to keep trying; then the last error is thrown (the host gives the batch back). */
  readonly holdForInMs: number;
  readonly firstDelayInMs?: number;
  readonly maxDelayInMs?: number;
}

export interface HoldDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Waits (an adapter's timer); rejects or resolves early when the signal aborts. */
  readonly wait: (delayInMs: number, abortSignal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `work` until it succeeds, backing off exponentially (1 s, 2 s, … up to 30 s by default) while it
 * fails, for at most `holdForInMs`. The audit trigger runs its append inside this: a storage outage then
 * keeps the batch (and its session) locked — the host renews the lock while the function runs — instead
 * of abandoning it, which makes the broker redeliver at once and, after MaxDeliveryCount quick failures,
 * dead-letter valid events. `work` throws only on transient failure (invalid messages are outcomes).
 */
export async function holdThroughOutage<T>(work: () => Promise<T>, deps: HoldDeps, options: HoldOptions & { abortSignal?: AbortSignal; what?: string }): Promise<T> {
  const startedAt = deps.clock.nowInMs();
  const maxDelay = options.maxDelayInMs ?? 30_000;
  let delay = options.firstDelayInMs ?? 1_000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await work();
      if (attempt > 1) deps.logger.info("audit.append.recovered", { what: options.what ?? "append", attempts: attempt, heldForInMs: deps.clock.nowInMs() - startedAt });
      return result;
    } catch (error) {
      const elapsed = deps.clock.nowInMs() - startedAt;
      const left = options.holdForInMs - elapsed;
      if (left <= 0 || options.abortSignal?.aborted === true) {
        deps.logger.warn("audit.append.gave_up", { what: options.what ?? "append", attempts: attempt, heldForInMs: elapsed, error: ensureError(error).name });
        throw error;
      }
      deps.logger.warn("audit.append.held", { what: options.what ?? "append", attempt, retryInMs: Math.min(delay, left), error: ensureError(error).name });
      await deps.wait(Math.min(delay, left), options.abortSignal);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
