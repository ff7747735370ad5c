import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../src/core/audit/AuditPublisher.js";

/**
 * An AuditPublisher for gateway tests: records every batch it accepts (deep copies, in order) and can
 * be told to fail, for every publish or only for the next few (a broker outage).
 */
export class RecordingAuditPublisher implements AuditPublisher {
  readonly batches: AuditEvent[][] = [];
  /** Publish attempts, successful or not. */
  attempts = 0;
  closed = false;
  private failuresLeft = 0;
  private failingAlways = false;
  private failWhen: { readonly matches: (events: readonly AuditEvent[]) => boolean; readonly store: boolean } | null = null;

  /** Every event accepted so far, in publish order. */
  get events(): AuditEvent[] {
    return this.batches.flat();
  }

  /** Makes every publish reject until `recover()`. */
  failAlways(): void {
    this.failingAlways = true;
  }

  /** Makes the next `count` publishes reject. */
  failNext(count = 1): void {
    this.failuresLeft = count;
  }

  /**
   * Makes the next publish whose batch `matches` reject; with `store`, the batch is kept first (the broker
   * stored it and its acknowledgement was lost).
   */
  failNextWhere(matches: (events: readonly AuditEvent[]) => boolean, options: { readonly store?: boolean } = {}): void {
    this.failWhen = { matches, store: options.store === true };
  }

  recover(): void {
    this.failingAlways = false;
    this.failuresLeft = 0;
    this.failWhen = null;
  }

  clear(): void {
    this.batches.length = 0;
    this.attempts = 0;
  }

  async publish(events: readonly AuditEvent[]): Promise<void> {
    this.attempts += 1;
    if (this.failingAlways || this.failuresLeft > 0) {
      if (this.failuresLeft > 0) this.failuresLeft -= 1;
      throw new Error("audit broker unavailable");
    }
    if (this.failWhen?.matches(events)) {
      const { store } = this.failWhen;
      this.failWhen = null;
      if (store) this.batches.push(events.map((event) => structuredClone(event)));
      throw new Error("audit broker unavailable");
    }
    this.batches.push(events.map((event) => structuredClone(event)));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
