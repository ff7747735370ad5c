import { type TableClient } from "@azure/data-tables";
import { type AuditEvent } from "../../core/audit/AuditEvent.js";
import { parseAuditEvent } from "../../core/audit/auditEventSchema.js";
import { type AuditOutbox, type ListOutboxOptions, type OutboxOptions } from "../../core/audit/AuditOutbox.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

export const AUDIT_OUTBOX_TABLE = "AuditOutbox";

/**
 * The durable outbox, table `AuditOutbox`: PartitionKey = project, RowKey = event id (percent-
 * encoded), `event` = the event's JSON. Upserts, so storing an event twice keeps one row.
 */
export class TableAuditOutbox implements AuditOutbox {
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: { readonly createTableIfMissing?: boolean } = {},
  ) {}

  async put(events: readonly AuditEvent[], options: OutboxOptions = {}): Promise<void> {
    await this.ready();
    await Promise.all(
      events.map((event) =>
        this.table.upsertEntity(
          { partitionKey: event.project, rowKey: encodeURIComponent(event.eventId), event: JSON.stringify(event) },
          "Replace",
          { abortSignal: options.abortSignal },
        ),
      ),
    );
  }

  async *list(options: ListOutboxOptions = {}): AsyncIterable<AuditEvent> {
    await this.ready();
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let count = 0;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ abortSignal: options.abortSignal })) {
      if (count >= limit) return;
      if (typeof row.event !== "string") continue;
      let value: unknown;
      try {
        value = JSON.parse(row.event);
      } catch {
        continue;
      }
      const parsed = parseAuditEvent(value);
      if (!parsed.ok) continue;
      count += 1;
      yield parsed.event;
    }
  }

  async delete(events: readonly Pick<AuditEvent, "eventId" | "project">[], options: OutboxOptions = {}): Promise<void> {
    await this.ready();
    await Promise.all(
      events.map(async (event) => {
        try {
          await this.table.deleteEntity(event.project, encodeURIComponent(event.eventId), { abortSignal: options.abortSignal });
        } catch (error) {
          if (statusCodeOf(error) !== 404) throw error;
        }
      }),
    );
  }
}
