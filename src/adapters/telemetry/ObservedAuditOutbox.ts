import { type Counter, type Meter } from "@opentelemetry/api";
import { type AuditEvent } from "../../core/audit/AuditEvent.js";
import { type AuditOutbox, type ListOutboxOptions, type OutboxOptions } from "../../core/audit/AuditOutbox.js";
import { ATTR, METRIC } from "../../core/telemetry/telemetryAttributes.js";

/**
 * An AuditOutbox that counts events stored (a publish that fell back to the outbox) and drained.
 * Stored minus drained, summed over time, is the outbox depth: cheaper than listing the table.
 */
export class ObservedAuditOutbox implements AuditOutbox {
  private readonly stored: Counter;
  private readonly drained: Counter;

  constructor(
    private readonly inner: AuditOutbox,
    meter: Meter,
  ) {
    this.stored = meter.createCounter(METRIC.outboxStored, { description: "Audit events kept in the durable outbox because the queue refused them." });
    this.drained = meter.createCounter(METRIC.outboxDrained, { description: "Audit events republished from the outbox and removed from it." });
  }

  async put(events: readonly AuditEvent[], options?: OutboxOptions): Promise<void> {
    await this.inner.put(events, options);
    countByProject(this.stored, events);
  }

  list(options?: ListOutboxOptions): AsyncIterable<AuditEvent> {
    return this.inner.list(options);
  }

  async delete(events: readonly Pick<AuditEvent, "eventId" | "project">[], options?: OutboxOptions): Promise<void> {
    await this.inner.delete(events, options);
    countByProject(this.drained, events);
  }
}

function countByProject(counter: Counter, events: readonly Pick<AuditEvent, "project">[]): void {
  const byProject = new Map<string, number>();
  for (const event of events) byProject.set(event.project, (byProject.get(event.project) ?? 0) + 1);
  for (const [project, count] of byProject) counter.add(count, { [ATTR.project]: project });
}
