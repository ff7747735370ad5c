import { randomUUID } from "node:crypto";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";

/** A typical api_call audit event for the audit benches (one shape, so their figures compare). */
export function benchAuditEvent(project: string, i: number, ts: string = new Date().toISOString()): AuditEvent {
  return {
    schemaVersion: 1,
    eventId: randomUUID(),
    ts,
    type: "api_call",
    actor: { kind: "service-account", id: `svc-${i % 7}`, keyId: "key-1" },
    project,
    environment: "prod",
    model: "gpt-4o",
    deployment: "gpt4o",
    endpointId: "weu-1",
    region: "westeurope",
    classification: "internal",
    status: "success",
    httpStatus: 200,
    tokens: { input: 812, output: 214 },
    costUsd: 0.00417,
    latencyInMs: 843,
    dlpFindings: { email: 1 },
    dlpAction: "redact",
    requestId: randomUUID(),
    policyVersion: "9f".repeat(32),
    contentDigest: "ab".repeat(32),
  };
}
