import { type AuditEvent, type AuditEventType } from "../audit/AuditEvent.js";

/** The event types that each stand for one request to the gateway: its answer, or why it was refused. */
export const REFUSAL_EVENT_TYPES: readonly AuditEventType[] = ["auth_failed", "policy_violation", "pii_detected", "rate_limited", "budget_exceeded", "residency_blocked", "content_filtered", "prompt_attack_detected"];
export const REQUEST_EVENT_TYPES: readonly AuditEventType[] = ["api_call", ...REFUSAL_EVENT_TYPES];

const requestTypes = new Set<string>(REQUEST_EVENT_TYPES);
const refusalTypes = new Set<string>(REFUSAL_EVENT_TYPES);

export const isRequestEvent = (event: AuditEvent): boolean => requestTypes.has(event.type);
export const isRefusalEvent = (event: AuditEvent): boolean => refusalTypes.has(event.type);

/** How an actor is named in summaries: its kind and id (service account, Entra object id, job name). */
export const actorKeyOf = (event: AuditEvent): string => `${event.actor.kind}:${event.actor.id}`;
