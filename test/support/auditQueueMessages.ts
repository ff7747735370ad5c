import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { unpackAuditBody } from "../../src/core/audit/auditMessageBody.js";

/** The events a received audit message carries (one, or a packed message's), in order; throws on anything else. */
export function eventsIn(body: unknown): AuditEvent[] {
  const unpacked = unpackAuditBody(body);
  if (unpacked.kind === "invalid") throw new Error(`not an audit message: ${unpacked.reason}`);
  return (unpacked.kind === "single" ? [unpacked.value] : unpacked.values) as AuditEvent[];
}
