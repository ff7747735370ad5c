import { randomUUID } from "node:crypto";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";

/** Test data: a valid audit event (metadata only, as the gateway emits). */
export function makeAuditEvent(overrides: Partial<AuditEvent> = {}, index = 0): AuditEvent {
  return {
    schemaVersion: 1,
    eventId: randomUUID(),
    ts: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    type: "api_call",
    actor: { kind: "service-account", id: `sa-${index % 3}`, keyId: "k1" },
    project: "proj-a",
    model: "gpt-4o",
    status: "success",
    httpStatus: 200,
    tokens: { input: 10 + index, output: 20 },
    costUsd: 0.001,
    policyVersion: "a".repeat(64),
    ...overrides,
  };
}

export function makeAuditEvents(count: number, overrides: Partial<AuditEvent> = {}): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => makeAuditEvent(overrides, i));
}
