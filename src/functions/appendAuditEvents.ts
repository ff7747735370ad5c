import { type InvocationContext, type ServiceBusQueueFunctionOptions } from "@azure/functions";
import { getAppServices } from "../composition/services.js";
import { type Logger } from "../core/logger.js";
import { type AppendOutcome, type AuditAppender } from "../core/audit/AuditAppender.js";
import { defineFunction } from "./definition.js";

/** A per-message outcome; `index` and `outcome` are what the local host reads to dead-letter invalid ones. */
export type AppendMessageOutcome = AppendOutcome & { readonly index: number; readonly outcome: AppendOutcome["status"] };

/**
 * Appends a batch to the chains and reports per message. Invalid messages are logged (ids and
 * reason only) and returned for dead-lettering; a transient failure throws so the batch is retried.
 */
export async function appendAuditMessages(
  messages: readonly { readonly messageId?: string; readonly body: unknown }[],
  appender: AuditAppender,
  logger: Logger,
): Promise<AppendMessageOutcome[]> {
  const outcomes = await appender.append(messages);
  const result = outcomes.map((outcome, index) => ({ ...outcome, index, outcome: outcome.status }));
  const count = (status: AppendOutcome["status"]): number => outcomes.filter((o) => o.status === status).length;
  for (const item of result) {
    if (item.status === "invalid") logger.warn("audit.append.invalid", { messageId: item.messageId ?? null, index: item.index, reason: item.reason });
  }
  logger.info("audit.append.batch", { messages: messages.length, appended: count("appended"), duplicates: count("duplicate"), invalid: count("invalid") });
  return result;
}

function messageIdsOf(context: InvocationContext): readonly unknown[] {
  const ids = context.triggerMetadata?.messageIdArray;
  return Array.isArray(ids) ? ids : [];
}

/** Service Bus trigger (sessions on, batches): one session = one chain, appended in order. */
export async function appendAuditEvents(messages: unknown[], context: InvocationContext): Promise<AppendMessageOutcome[]> {
  const services = await getAppServices();
  const ids = messageIdsOf(context);
  const batch = messages.map((body, index) => {
    const id = ids[index];
    return typeof id === "string" ? { messageId: id, body } : { body };
  });
  return appendAuditMessages(batch, services.audit.appender, services.logger);
}

export const appendAuditEventsOptions: ServiceBusQueueFunctionOptions = {
  connection: "ServiceBus",
  queueName: "%SERVICEBUS_AUDIT_QUEUE%",
  isSessionsEnabled: true,
  cardinality: "many",
  handler: (messages, context) => appendAuditEvents(Array.isArray(messages) ? messages : [messages], context),
};

export const definition = defineFunction({ kind: "serviceBusQueue", name: "appendAuditEvents", options: appendAuditEventsOptions });
