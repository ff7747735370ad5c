import { type Clock } from "../clock.js";

export type CircuitState = "closed" | "open" | "half_open";

export interface CircuitBreakerOptions {
  /** How long the breaker stays open before it lets one probe through. */
  readonly openForInMs: number;
  /** A probe that never reports back frees its slot after this long (default: openForInMs). */
  readonly probeLeaseInMs?: number;
}

/**
 * A breaker for one dependency, as this instance sees it. It opens on the first failure (a timeout or a
 * refused connection: for a dependency on the request path, one slow failure is already too many), lets
 * exactly one call through as a probe once `openForInMs` has passed, and closes when a call succeeds.
 * Callers ask `permit()` before each call and report `succeeded()` or `failed()` after it.
 */
export class CircuitBreaker {
  private openedAtInMs: number | null = null;
  private probeSinceInMs: number | null = null;
  private readonly probeLeaseInMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.probeLeaseInMs = options.probeLeaseInMs ?? options.openForInMs;
  }

  get state(): CircuitState {
    if (this.openedAtInMs === null) return "closed";
    return this.probeSinceInMs === null ? "open" : "half_open";
  }

  /** Whether a call may go to the dependency now (while open, only the one probe may). */
  permit(): boolean {
    if (this.openedAtInMs === null) return true;
    const now = this.clock.nowInMs();
    if (this.probeSinceInMs !== null && now - this.probeSinceInMs < this.probeLeaseInMs) return false;
    if (now - this.openedAtInMs < this.options.openForInMs) return false;
    this.probeSinceInMs = now;
    return true;
  }

  succeeded(): void {
    this.openedAtInMs = null;
    this.probeSinceInMs = null;
  }

  /** Returns true when this failure opened a closed breaker (callers log that once). */
  failed(): boolean {
    const wasClosed = this.openedAtInMs === null;
    this.openedAtInMs = this.clock.nowInMs();
    this.probeSinceInMs = null;
    return wasClosed;
  }
}
