import { type InvocationContext, type ServiceBusQueueFunctionOptions } from "@azure/functions";
import { createHash } from "node:crypto";
import { getAppServices } from "../composition/services.js";
import { type Logger } from "../core/logger.js";
import { type AppendOutcome, type AuditAppender } from "../core/audit/AuditAppender.js";
import { type AuditDeadLetters, type DeadLetter } from "../core/audit/AuditDeadLetters.js";
import { packedAuditPart } from "../core/audit/auditMessageBody.js";
import { holdThroughOutage, type HoldDeps, type HoldOptions } from "../core/audit/holdThroughOutage.js";
import { defineFunction } from "./definition.js";

/** A per-event outcome (`index` = its message's position in the batch, `part` = its position in a packed message). */
export type AppendMessageOutcome = AppendOutcome & { readonly outcome: AppendOutcome["status"] };

/** One delivered message with what the trigger metadata says about it. */
export interface AuditTriggerMessage {
  readonly messageId?: string;
  readonly body: unknown;
  readonly sessionId?: string;
  readonly deliveryCount?: number;
  readonly enqueuedTimeUtc?: string;
}

export interface AppendAuditDeps {
  /** The AuditAppender, in this thread or behind the append worker (adapters/workers/WorkerAuditAppender.ts). */
  readonly appender: Pick<AuditAppender, "append">;
  readonly deadLetters: AuditDeadLetters;
  readonly logger: Logger;
  /** Back off and retry through a storage outage while holding the batch (default: give it back at once). */
  readonly hold?: Omit<HoldDeps, "logger"> & HoldOptions;
}

/** The body as bytes, for the dead-letter store (the worker hands over parsed JSON, text or bytes). */
function bodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  try {
    return Buffer.from(JSON.stringify(body) ?? String(body), "utf8");
  } catch {
    return Buffer.from(String(body), "utf8");
  }
}

/**
 * The dead letter for an invalid outcome: the whole message, or, for one event of a packed message, that
 * event alone (as a one-event body, id `<message id>#<part>`: replayed, it is an ordinary message, and a
 * redelivery of the packed message finds the same row).
 */
function deadLetterOf(message: AuditTriggerMessage | undefined, item: AppendOutcome & { readonly status: "invalid" }): DeadLetter {
  const whole = bodyBytes(message?.body);
  // A message always has an id from the broker; a hash of the body keeps a redelivery idempotent otherwise.
  const messageId = message?.messageId ?? `sha256:${createHash("sha256").update(whole).digest("hex")}`;
  const part = item.part === undefined ? undefined : packedAuditPart(message?.body, item.part);
  return {
    messageId: part === undefined ? messageId : `${messageId}#${item.part ?? 0}`,
    reason: item.reason,
    body: part ?? whole,
    ...(message?.sessionId === undefined ? {} : { chainId: message.sessionId }),
    ...(message?.deliveryCount === undefined ? {} : { deliveryCount: message.deliveryCount }),
    ...(message?.enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc: message.enqueuedTimeUtc }),
  };
}

/**
 * Appends a batch to the chains and reports per event. An event that can never be appended (invalid: a
 * message that is not JSON, or one event of a packed message that is not a valid event) goes to the
 * dead-letter store with its reason BEFORE this returns, while the valid events of the same message are
 * appended; the host then completes the whole batch. If that store cannot be written, this throws like
 * any transient failure: the host abandons the batch, the broker redelivers it, and the valid events
 * come back as duplicates (nothing appended twice).
 */
export async function appendAuditMessages(messages: readonly AuditTriggerMessage[], deps: AppendAuditDeps): Promise<AppendMessageOutcome[]> {
  const { appender, deadLetters, logger } = deps;
  const outcomes = await appender.append(messages);
  const result = outcomes.map((outcome) => ({ ...outcome, outcome: outcome.status }));
  const letters: DeadLetter[] = [];
  for (const item of outcomes) {
    if (item.status !== "invalid") continue;
    const letter = deadLetterOf(messages[item.index], item);
    letters.push(letter);
    logger.warn("audit.append.dead_lettered", { messageId: letter.messageId, chainId: letter.chainId ?? null, index: item.index, part: item.part ?? null, reason: item.reason });
  }
  await deadLetters.put(letters);
  const count = (status: AppendOutcome["status"]): number => outcomes.filter((o) => o.status === status).length;
  logger.info("audit.append.batch", { messages: messages.length, events: outcomes.length, appended: count("appended"), duplicates: count("duplicate"), invalid: count("invalid") });
  return result;
}

/** triggerMetadata arrays (cardinality "many"), tolerant of what a host leaves out. */
function metadataArray(context: InvocationContext, key: string): readonly unknown[] {
  const value = context.triggerMetadata?.[key];
  return Array.isArray(value) ? value : [];
}

function toIso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The trigger's messages paired with their metadata (message id, session, delivery count, enqueued time). */
export function triggerMessages(messages: readonly unknown[], context: InvocationContext): AuditTriggerMessage[] {
  const ids = metadataArray(context, "messageIdArray");
  const sessions = metadataArray(context, "sessionIdArray");
  const deliveries = metadataArray(context, "deliveryCountArray");
  const enqueued = metadataArray(context, "enqueuedTimeUtcArray");
  const batchSession = context.triggerMetadata?.sessionId;
  return messages.map((body, index) => {
    const id = ids[index];
    const session = sessions[index] ?? batchSession;
    const delivery = deliveries[index];
    const enqueuedTimeUtc = toIso(enqueued[index]);
    return {
      body,
      ...(typeof id === "string" ? { messageId: id } : {}),
      ...(typeof session === "string" && session !== "" ? { sessionId: session } : {}),
      ...(typeof delivery === "number" ? { deliveryCount: delivery } : {}),
      ...(enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc }),
    };
  });
}

/** The trigger's work with its dependencies given (what the registered handler runs; tests run it on any host). */
export function handleAuditMessages(messages: unknown, context: InvocationContext, deps: AppendAuditDeps): Promise<AppendMessageOutcome[]> {
  const batch = triggerMessages(Array.isArray(messages) ? messages : [messages], context);
  const { hold } = deps;
  if (hold === undefined) return appendAuditMessages(batch, deps);
  return holdThroughOutage(() => appendAuditMessages(batch, deps), { ...hold, logger: deps.logger }, { ...hold, what: `batch of ${batch.length}` });
}

/** Service Bus trigger (sessions on, batches): one session = one chain, appended in order. */
export async function appendAuditEvents(messages: unknown[], context: InvocationContext): Promise<AppendMessageOutcome[]> {
  const services = await getAppServices();
  const { appender, deadLetters, appendHold } = services.audit;
  return handleAuditMessages(messages, context, { appender, deadLetters, logger: services.logger, hold: appendHold });
}

export const appendAuditEventsOptions: ServiceBusQueueFunctionOptions = {
  connection: "ServiceBus",
  queueName: "%SERVICEBUS_AUDIT_QUEUE%",
  isSessionsEnabled: true,
  cardinality: "many",
  // The host completes the batch when this returns and abandons it when this throws; invalid messages
  // are dead-lettered by the function itself (above), never by the host. A storage outage is held
  // through inside the invocation (PALISADE_AUDIT_APPEND_HOLD_IN_MS, below host.json's functionTimeout
  // and maxAutoLockRenewalDuration) so that it does not burn deliveries.
  autoCompleteMessages: true,
  handler: (messages, context) => appendAuditEvents(Array.isArray(messages) ? messages : [messages], context),
};

export const definition = defineFunction({ kind: "serviceBusQueue", name: "appendAuditEvents", options: appendAuditEventsOptions });
