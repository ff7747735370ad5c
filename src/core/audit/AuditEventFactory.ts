import { createHmac } from "node:crypto";
import { type Principal } from "../auth/Principal.js";
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditActor, type AuditEvent, SYSTEM_CHAIN_ID } from "./AuditEvent.js";
import { type Clock } from "../clock.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type AuditEventFields = Omit<Mutable<AuditEvent>, "schemaVersion" | "eventId" | "ts" | "policyVersion" | "project"> & { project?: string };

export interface AuditEventFactoryOptions {
  readonly clock: Clock;
  readonly newEventId: () => string;
  readonly policyVersion: string;
}

/** Stamps events with id, time, schema and policy version, so call sites only say what happened. */
export class AuditEventFactory {
  constructor(private readonly options: AuditEventFactoryOptions) {}

  create(fields: AuditEventFields): AuditEvent {
    return this.stamp({ ...fields });
  }

  /**
   * Stamps an object the caller has just built and hands over (it is changed in place, not copied):
   * the request path builds each event in one object literal instead of copying it twice.
   */
  stamp(fields: AuditEventFields): AuditEvent {
    const event = fields as Mutable<AuditEventFields> & Partial<Mutable<AuditEvent>>;
    event.schemaVersion = AUDIT_EVENT_SCHEMA_VERSION;
    event.eventId = this.options.newEventId();
    event.ts = new Date(this.options.clock.nowInMs()).toISOString();
    event.policyVersion = this.options.policyVersion;
    event.project = fields.project ?? SYSTEM_CHAIN_ID;
    return event as AuditEvent;
  }
}

export function actorOf(principal: Principal | null): AuditActor {
  if (!principal) return { kind: "anonymous", id: "anonymous" };
  if (principal.kind === "service-account") return { kind: "service-account", id: principal.id, keyId: principal.keyId };
  return { kind: "user", id: principal.id };
}

/**
 * HMAC-SHA256 of the prompt under a key held in Key Vault: it proves which prompt was sent without
 * storing it, and unlike a plain hash cannot be brute-forced from a short prompt holding an SSN.
 */
export function promptDigest(key: Uint8Array, texts: readonly string[]): string {
  const hmac = createHmac("sha256", key);
  for (const text of texts) hmac.update(text).update("\u0000");
  return hmac.digest("hex");
}
