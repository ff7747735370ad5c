import { type ServiceBusMessage, type ServiceBusSender } from "@azure/service-bus";
import { type AuditEvent, chainIdOf } from "../../core/audit/AuditEvent.js";
import { type AuditPublisher, type PublishOptions } from "../../core/audit/AuditPublisher.js";

/** The message for one event: id = event id (so broker-side duplicate detection can work), session = chain. */
export function toAuditMessage(event: AuditEvent): ServiceBusMessage {
  return {
    messageId: event.eventId,
    sessionId: chainIdOf(event),
    body: event,
    contentType: "application/json",
    subject: event.type,
  };
}

/**
 * Publishes audit events to the audit queue (sessions on): one message per event. Resolves only
 * once the broker accepted every message; rejects otherwise so the caller can fail closed or use
 * the outbox. Messages go in as few batches as fit; the broker keeps each session (chain) in order.
 * The sender is owned by this publisher and closed with it.
 */
export class ServiceBusAuditPublisher implements AuditPublisher {
  constructor(
    private readonly sender: ServiceBusSender,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  async publish(events: readonly AuditEvent[], options: PublishOptions = {}): Promise<void> {
    if (events.length === 0) return;
    const abortSignal = options.abortSignal;
    let batch = await this.sender.createMessageBatch({ abortSignal });
    for (const event of events) {
      const message = toAuditMessage(event);
      if (batch.tryAddMessage(message)) continue;
      if (batch.count === 0) throw new RangeError(`Audit event ${event.eventId} is too large for one Service Bus message`);
      await this.sender.sendMessages(batch, { abortSignal });
      batch = await this.sender.createMessageBatch({ abortSignal });
      if (!batch.tryAddMessage(message)) throw new RangeError(`Audit event ${event.eventId} is too large for one Service Bus message`);
    }
    if (batch.count > 0) await this.sender.sendMessages(batch, { abortSignal });
  }

  async close(): Promise<void> {
    await this.sender.close();
    await this.onClose();
  }
}
