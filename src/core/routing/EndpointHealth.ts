import { type Clock } from "../clock.js";
import { type RoutingPolicy } from "../policy/schema.js";

export type BreakerState = "closed" | "open" | "half_open";
export type FailureKind = "rate_limited" | "server_error" | "timeout" | "connection";
export type BreakerPolicy = RoutingPolicy["breaker"];

export interface EndpointHealthOptions {
  /** Weight of the newest latency sample in the moving average (0..1]. */
  readonly latencyAlpha?: number;
  /** How long a 429 without `retry-after` takes an endpoint out of rotation. */
  readonly defaultRetryAfterInMs?: number;
  /** Upper bound on any `retry-after`, so one odd header cannot park an endpoint for a day. */
  readonly maxRetryAfterInMs?: number;
  /**
   * How long a half-open probe may stay unanswered before another request may probe. Guards against a
   * probe whose outcome is never recorded. Pass the routing deadline (`totalDeadlineInMs`).
   */
  readonly probeLeaseInMs?: number;
}

export interface EndpointHealthSnapshot {
  readonly endpointId: string;
  readonly state: BreakerState;
  readonly available: boolean;
  readonly consecutiveFailures: number;
  readonly windowRequests: number;
  readonly windowFailures: number;
  /** Exponentially weighted moving average of successful attempts' latency; null before the first. */
  readonly latencyEwmaInMs: number | null;
  /** Set while a 429 keeps the endpoint out of rotation. */
  readonly rateLimitedUntilInMs: number | null;
}

interface Bucket {
  readonly startInMs: number;
  requests: number;
  failures: number;
}

interface Entry {
  state: "closed" | "open";
  openedAtInMs: number;
  /** Set while the single half-open probe is in flight. */
  probeStartedAtInMs: number | null;
  consecutiveFailures: number;
  buckets: Bucket[];
  latencyEwmaInMs: number | null;
  rateLimitedUntilInMs: number;
}

const BUCKETS_PER_WINDOW = 10;

/**
 * Health of each upstream endpoint as THIS instance observes it: a circuit breaker, an EWMA of latency
 * and a retry-after skip. Every Functions instance has its own; that is deliberate: health is a local
 * observation (this instance's network path, its own recent attempts), needs no storage round trip on the
 * hot path, and a wrong guess costs one failed attempt that failover absorbs. Compliance never depends on
 * it: health only orders and skips endpoints that are already compliant.
 *
 * Breaker: closed -> open after `consecutiveFailures` failures in a row, or when at least `minimumRequests`
 * attempts in the last `windowInMs` failed at a rate of `errorRateThreshold` or more. Open -> half-open
 * after `cooldownInMs`: exactly one probe is let through (`tryAcquire`); its success closes the breaker,
 * its failure re-opens it for another cooldown. 429s do not count against the breaker (the endpoint is
 * alive, only busy); they take it out of rotation until its `retry-after`.
 */
export class EndpointHealth {
  private readonly entries = new Map<string, Entry>();
  private readonly latencyAlpha: number;
  private readonly defaultRetryAfterInMs: number;
  private readonly maxRetryAfterInMs: number;
  private readonly probeLeaseInMs: number;
  private readonly bucketInMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly breaker: BreakerPolicy,
    options: EndpointHealthOptions = {},
  ) {
    this.latencyAlpha = options.latencyAlpha ?? 0.3;
    this.defaultRetryAfterInMs = options.defaultRetryAfterInMs ?? 1_000;
    this.maxRetryAfterInMs = options.maxRetryAfterInMs ?? 300_000;
    this.probeLeaseInMs = options.probeLeaseInMs ?? 120_000;
    this.bucketInMs = Math.max(1, Math.ceil(breaker.windowInMs / BUCKETS_PER_WINDOW));
    if (!(this.latencyAlpha > 0 && this.latencyAlpha <= 1)) throw new RangeError("latencyAlpha must be in (0, 1]");
  }

  state(endpointId: string): BreakerState {
    const entry = this.entries.get(endpointId);
    if (entry === undefined || entry.state === "closed") return "closed";
    if (entry.probeStartedAtInMs !== null) return "half_open";
    return this.clock.nowInMs() - entry.openedAtInMs >= this.breaker.cooldownInMs ? "half_open" : "open";
  }

  /** Whether a request could be sent now (a query: it claims nothing; use `tryAcquire` to send). */
  isAvailable(endpointId: string): boolean {
    return this.nextAvailableInMs(endpointId) === 0;
  }

  /** Milliseconds until the endpoint may be tried again: 0 when available now, null when only a pending probe decides. */
  nextAvailableInMs(endpointId: string): number | null {
    const entry = this.entries.get(endpointId);
    if (entry === undefined) return 0;
    const now = this.clock.nowInMs();
    let wait = Math.max(0, entry.rateLimitedUntilInMs - now);
    if (entry.state === "open") {
      if (this.probeInFlight(entry, now)) return null;
      wait = Math.max(wait, entry.openedAtInMs + this.breaker.cooldownInMs - now);
    }
    return wait;
  }

  /**
   * Claims the right to send one request. Closed: true unless rate limited. Open: false until the cooldown
   * has passed, then true for exactly ONE caller (the half-open probe) until its outcome is recorded.
   */
  tryAcquire(endpointId: string): boolean {
    const now = this.clock.nowInMs();
    if (this.nextAvailableInMs(endpointId) !== 0) return false;
    const entry = this.entries.get(endpointId);
    if (entry !== undefined && entry.state === "open") entry.probeStartedAtInMs = now;
    return true;
  }

  /**
   * Gives back a claim whose attempt says nothing about the endpoint's health (the request itself was
   * refused, say a 400): a half-open probe slot becomes free again.
   */
  release(endpointId: string): void {
    const entry = this.entries.get(endpointId);
    if (entry !== undefined) entry.probeStartedAtInMs = null;
  }

  recordSuccess(endpointId: string, latencyInMs: number): void {
    const entry = this.entry(endpointId);
    const now = this.clock.nowInMs();
    const latency = Math.max(0, latencyInMs);
    entry.latencyEwmaInMs = entry.latencyEwmaInMs === null ? latency : this.latencyAlpha * latency + (1 - this.latencyAlpha) * entry.latencyEwmaInMs;
    if (entry.state === "open") {
      // Only the probe's answer closes the breaker; a straggler that began before it opened does not.
      if (entry.probeStartedAtInMs === null) return;
      this.close(entry);
    }
    entry.consecutiveFailures = 0;
    this.bucketFor(entry, now).requests += 1;
  }

  recordFailure(endpointId: string, kind: FailureKind, retryAfterInMs?: number): void {
    const entry = this.entry(endpointId);
    const now = this.clock.nowInMs();
    if (kind === "rate_limited") {
      const wait = Math.min(this.maxRetryAfterInMs, Math.max(0, retryAfterInMs ?? this.defaultRetryAfterInMs));
      entry.rateLimitedUntilInMs = Math.max(entry.rateLimitedUntilInMs, now + wait);
      // A throttled probe proves the endpoint answers; free the slot without judging it.
      entry.probeStartedAtInMs = null;
      return;
    }
    if (entry.state === "open") {
      if (entry.probeStartedAtInMs !== null) this.open(entry, now);
      return;
    }
    entry.consecutiveFailures += 1;
    const bucket = this.bucketFor(entry, now);
    bucket.requests += 1;
    bucket.failures += 1;
    if (entry.consecutiveFailures >= this.breaker.consecutiveFailures || this.errorRateTripped(entry, now)) this.open(entry, now);
  }

  snapshot(): readonly EndpointHealthSnapshot[] {
    const now = this.clock.nowInMs();
    return [...this.entries.entries()].map(([endpointId, entry]) => {
      const { requests, failures } = this.windowTotals(entry, now);
      return {
        endpointId,
        state: this.state(endpointId),
        available: this.isAvailable(endpointId),
        consecutiveFailures: entry.consecutiveFailures,
        windowRequests: requests,
        windowFailures: failures,
        latencyEwmaInMs: entry.latencyEwmaInMs,
        rateLimitedUntilInMs: entry.rateLimitedUntilInMs > now ? entry.rateLimitedUntilInMs : null,
      };
    });
  }

  /** The moving average of latency, or null before the first success. */
  latencyInMs(endpointId: string): number | null {
    return this.entries.get(endpointId)?.latencyEwmaInMs ?? null;
  }

  private probeInFlight(entry: Entry, now: number): boolean {
    return entry.probeStartedAtInMs !== null && now - entry.probeStartedAtInMs < this.probeLeaseInMs;
  }

  private open(entry: Entry, now: number): void {
    entry.state = "open";
    entry.openedAtInMs = now;
    entry.probeStartedAtInMs = null;
  }

  private close(entry: Entry): void {
    entry.state = "closed";
    entry.probeStartedAtInMs = null;
    entry.consecutiveFailures = 0;
    // The failures that opened the breaker are history; a fresh window stops them re-opening it at once.
    entry.buckets = [];
  }

  private errorRateTripped(entry: Entry, now: number): boolean {
    const { requests, failures } = this.windowTotals(entry, now);
    return requests >= this.breaker.minimumRequests && failures / requests >= this.breaker.errorRateThreshold;
  }

  private windowTotals(entry: Entry, now: number): { requests: number; failures: number } {
    let requests = 0;
    let failures = 0;
    for (const bucket of entry.buckets) {
      if (bucket.startInMs + this.bucketInMs > now - this.breaker.windowInMs) {
        requests += bucket.requests;
        failures += bucket.failures;
      }
    }
    return { requests, failures };
  }

  private bucketFor(entry: Entry, now: number): Bucket {
    const startInMs = now - (now % this.bucketInMs);
    const last = entry.buckets.at(-1);
    if (last !== undefined && last.startInMs === startInMs) return last;
    const bucket: Bucket = { startInMs, requests: 0, failures: 0 };
    // Keep the list bounded: drop buckets that have left the window.
    entry.buckets = entry.buckets.filter((old) => old.startInMs + this.bucketInMs > now - this.breaker.windowInMs);
    entry.buckets.push(bucket);
    return bucket;
  }

  private entry(endpointId: string): Entry {
    let entry = this.entries.get(endpointId);
    if (entry === undefined) {
      entry = { state: "closed", openedAtInMs: 0, probeStartedAtInMs: null, consecutiveFailures: 0, buckets: [], latencyEwmaInMs: null, rateLimitedUntilInMs: 0 };
      this.entries.set(endpointId, entry);
    }
    return entry;
  }
}
