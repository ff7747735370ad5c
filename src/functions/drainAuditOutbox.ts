import { type InvocationContext, type Timer } from "@azure/functions";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/**
 * Republishes audit events that went to the durable outbox while Service Bus was unavailable
 * (projects with `auditOnPublishFailure: outbox`). At-least-once is safe: the chain dedupes by eventId.
 */
export async function drainAuditOutbox(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = await getAppServices();
  const result = await services.audit.drainOutbox();
  if (result.republished > 0 || result.failed > 0) context.log(`audit outbox: republished ${result.republished}, still pending ${result.failed}`);
  // Still failing: throw so the host records a failed run and the next schedule tries again.
  if (result.failed > 0 && result.republished === 0) throw new Error(`audit outbox: ${result.failed} event(s) could not be republished`);
}

export const definition = defineFunction({
  kind: "timer",
  name: "drainAuditOutbox",
  options: { schedule: "%AUDIT_OUTBOX_SCHEDULE%", handler: drainAuditOutbox },
});
