import { type InvocationContext, type Timer } from "@azure/functions";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/**
 * Sends what Service Bus dead-lettered on the audit queue back to it: an event there is one the chain is
 * still missing (for example after an outage longer than the trigger's hold × MaxDeliveryCount). Safe to
 * repeat: the chain deduplicates by event id. A message replayed too often stays for an operator.
 */
export async function replayAuditDeadLetters(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = await getAppServices();
  const result = await services.audit.replayDeadLetters();
  if (result.replayed > 0 || result.kept > 0) context.log(`audit dead-letter queue: replayed ${result.replayed}, left for an operator ${result.kept}`);
}

export const definition = defineFunction({
  kind: "timer",
  name: "replayAuditDeadLetters",
  options: { schedule: "%AUDIT_DEAD_LETTER_REPLAY_SCHEDULE%", handler: replayAuditDeadLetters },
});
