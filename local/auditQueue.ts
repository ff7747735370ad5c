import { type QueueDefinition } from "./servicebus/index.js";

/** The audit queue's name on the local stack (SERVICEBUS_AUDIT_QUEUE). */
export const AUDIT_QUEUE = "audit-events";

/** The audit queue as infra/ declares the real one: sessions, a 60 s lock, 10 deliveries before dead-lettering. */
export function auditQueueDefinition(name: string = AUDIT_QUEUE): QueueDefinition {
  return { name, requiresSession: true, lockDurationInMs: 60_000, maxDeliveryCount: 10 };
}
