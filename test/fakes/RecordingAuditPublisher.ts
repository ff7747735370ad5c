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

  recover(): void {
    this.failingAlways = false;
    this.failuresLeft = 0;
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
    this.batches.push(events.map((event) => structuredClone(event)));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
