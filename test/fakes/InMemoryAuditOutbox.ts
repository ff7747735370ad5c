import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditOutbox, type ListOutboxOptions } from "../../src/core/audit/AuditOutbox.js";

export class InMemoryAuditOutbox implements AuditOutbox {
  readonly events = new Map<string, AuditEvent>();
  failPut = false;

  async put(events: readonly AuditEvent[]): Promise<void> {
    if (this.failPut) throw new Error("outbox unavailable");
    for (const e of events) this.events.set(`${e.project}/${e.eventId}`, structuredClone(e));
  }

  async *list(options: ListOutboxOptions = {}): AsyncIterable<AuditEvent> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let n = 0;
    for (const e of [...this.events.values()]) {
      if (n++ >= limit) return;
      yield structuredClone(e);
    }
  }

  async delete(events: readonly Pick<AuditEvent, "eventId" | "project">[]): Promise<void> {
    for (const e of events) this.events.delete(`${e.project}/${e.eventId}`);
  }
}
