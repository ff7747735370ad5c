/**
 * The requests this instance is handling now, and a bounded wait for a moment with none, for the
 * background work that shares the instance's one event loop (the audit append and its checkpoint,
 * the trigger's settlement): at light load it runs its slices between a caller's requests instead
 * of in front of them, so a request never queues behind more than one slice (issue 22, the
 * one-caller tail: a checkpoint's 40 slices landed in 8-12 requests in a row).
 */
export class RequestsInFlight {
  private count = 0;
  private waiters: (() => void)[] = [];
  /** When a wait last ran out without a gap (performance.now() ms): the requests follow each other without one. */
  private lastNoGapAt = Number.NEGATIVE_INFINITY;

  constructor(
    /** Above this many in flight the instance is busy: there is no gap to wait for, the work goes on at once. */
    private readonly lightLoad = 2,
    /**
     * After a wait that found no gap, the waits that follow within this long do not wait: requests that
     * keep the instance busy without a gap (a slow machine, a steady stream) would only spread the work
     * over more of them.
     */
    private readonly noGapForMs = 200,
  ) {}

  get size(): number {
    return this.count;
  }

  started(): void {
    this.count += 1;
  }

  ended(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Counts `work` as a request in flight until it settles; returns its outcome. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.started();
    try {
      return await work();
    } finally {
      this.ended();
    }
  }

  /**
   * Resolves once no request is in flight: at once if none is, or if more than `lightLoad` are (a busy
   * instance has no gap to move into, and the background work must go on), or if a wait found no gap
   * within the last `noGapForMs`; else when the last one ends or after `maxWaitInMs`, whichever comes first.
   */
  idle(maxWaitInMs: number): Promise<void> {
    if (this.count === 0 || this.count > this.lightLoad || maxWaitInMs <= 0) return Promise.resolve();
    if (performance.now() - this.lastNoGapAt < this.noGapForMs) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== wake);
        this.lastNoGapAt = performance.now();
        resolve();
      }, maxWaitInMs);
      this.waiters.push(wake);
    });
  }
}

/**
 * This process's governed requests (counted by operationRoute), which the audit append and its
 * checkpoint give way to (composition/audit.ts). One per process, as the event loop is.
 */
export const appRequestsInFlight = new RequestsInFlight();

/**
 * The longest one slice of background work waits for the requests in flight to end (light load only),
 * by default: 0, it does not wait. Five alternated pairs of the side-by-side harness with 20 ms
 * (docs/benchmarks.md, "2026-12-07, 07:47-08:34 UTC") put a lone caller 0.1-1.8 ms later at the median
 * and 1-7 ms at p99 in every pair, and 100/200 req/s no better; set it where a measurement says so.
 */
export const GIVE_WAY_IN_MS = 0;

/**
 * What background work on the event loop awaits between its slices: a bounded wait for a gap between
 * this process's requests, then the loop's next turn (after the I/O already due, so that the request
 * that just ended writes its answer first).
 */
export function giveWayToRequests(maxWaitInMs: number, requests: RequestsInFlight = appRequestsInFlight): () => Promise<void> {
  return async () => {
    await requests.idle(maxWaitInMs);
    await new Promise((resolve) => setImmediate(resolve));
  };
}
