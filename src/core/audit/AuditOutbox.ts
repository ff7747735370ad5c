import { type AuditEvent } from "./AuditEvent.js";

export interface OutboxOptions {
  readonly abortSignal?: AbortSignal;
}

export interface ListOutboxOptions extends OutboxOptions {
  readonly limit?: number;
}

/**
 * A durable holding place for events that could not be published. Keyed by event id: putting the
 * same event twice keeps one copy.
 */
export interface AuditOutbox {
  put(events: readonly AuditEvent[], options?: OutboxOptions): Promise<void>;
  list(options?: ListOutboxOptions): AsyncIterable<AuditEvent>;
  /** Succeeds for ids already gone. */
  delete(events: readonly Pick<AuditEvent, "eventId" | "project">[], options?: OutboxOptions): Promise<void>;
}
