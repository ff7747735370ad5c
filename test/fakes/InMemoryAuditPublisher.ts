import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../src/core/audit/AuditPublisher.js";

/** Records what it was given; `failNext` makes publishes reject (a broker outage). */
export class InMemoryAuditPublisher implements AuditPublisher {
  readonly published: AuditEvent[] = [];
  failing = false;
  closed = false;

  async publish(events: readonly AuditEvent[]): Promise<void> {
    if (this.failing) throw new Error("broker unavailable");
    this.published.push(...events.map((e) => structuredClone(e)));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
