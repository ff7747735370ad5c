import { type AuditEvent } from "./AuditEvent.js";

export interface PublishOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * Sends audit events towards the chain. Resolves only when every event is durably accepted
 * (Service Bus acknowledged it, or the outbox stored it); rejects otherwise, so the caller can
 * fail closed. Each event's chain id (its project) is the session id, so one chain is appended
 * in order by one consumer at a time.
 */
export interface AuditPublisher {
  publish(events: readonly AuditEvent[], options?: PublishOptions): Promise<void>;
  close(): Promise<void>;
}
