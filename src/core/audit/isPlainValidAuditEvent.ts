import { DATA_CLASSES } from "../policy/schema.js";
import { AUDIT_EVENT_SCHEMA_VERSION, AUDIT_EVENT_TYPES, type AuditEvent } from "./AuditEvent.js";
import { AUDIT_ACTOR_KINDS, AUDIT_EVENT_LIMITS, AUDIT_STATUSES, auditTimestampSchema } from "./auditEventLimits.js";

/**
 * The append's fast path through validation: true only for a plain object (as JSON.parse makes) that
 * the wire schema (auditEventSchema.ts) certainly accepts, checked field by field with the schema's own
 * limits, patterns and enums. False means "not vouched for", not "invalid": the caller then runs the
 * schema, which decides and names the reason. So this check may refuse more than the schema (any
 * surrogate at all, non-plain objects, numbers beyond 2^53) but never accept more; a property test
 * holds it to that.
 */
export function isPlainValidAuditEvent(value: unknown): value is AuditEvent {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (!Object.hasOwn(FIELD_CHECKS, key) || !Object.hasOwn(value, key)) return false;
  for (const key of FIELD_NAMES) {
    const field = value[key];
    if (field === undefined) {
      if (REQUIRED_FIELDS.has(key)) return false;
    } else if (!(FIELD_CHECKS[key] as FieldCheck)(field)) return false;
  }
  return true;
}

type FieldCheck = (value: unknown) => boolean;

const { idMaxLength, projectMaxLength, projectPattern, policyVersionMaxLength, contentDigestPattern, textMaxLength } = AUDIT_EVENT_LIMITS;
/** Any surrogate sends the event to the schema, which tells lone ones from pairs and names the field. */
const SURROGATE = /[\uD800-\uDFFF]/;
const TIMESTAMP_PATTERN: RegExp = auditTimestampSchema._zod.pattern;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const text = (value: unknown, min: number, max: number): boolean =>
  typeof value === "string" && value.length >= min && value.length <= max && !SURROGATE.test(value);
const anId: FieldCheck = (value) => text(value, 1, idMaxLength);
const oneOf = (values: readonly string[]): FieldCheck => {
  const allowed = new Set(values);
  return (value) => typeof value === "string" && allowed.has(value);
};
const count = (value: unknown): boolean => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const amount = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value) && value >= 0;

/**
 * A plain object whose members are all own, named without surrogates and checked: by name against
 * `known` (no other name allowed, `required` ones present) or, with `known` null, each by `member`.
 */
function record(value: unknown, known: Readonly<Record<string, FieldCheck>> | null, member: FieldCheck, required: readonly string[] = []): boolean {
  if (!isPlainObject(value)) return false;
  for (const key of required) if (value[key] === undefined) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || SURROGATE.test(key)) return false;
    const field = value[key];
    if (known === null) {
      if (!member(field)) return false;
    } else {
      const check = Object.hasOwn(known, key) ? known[key] : undefined;
      if (check === undefined || (field !== undefined && !check(field))) return false;
    }
  }
  return true;
}

const ACTOR_FIELDS: Readonly<Record<string, FieldCheck>> = { kind: oneOf(AUDIT_ACTOR_KINDS), id: anId, keyId: anId };
const TOKEN_FIELDS: Readonly<Record<string, FieldCheck>> = { input: count, cachedInput: count, output: count };
const detail: FieldCheck = (value) => value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)) || text(value, 0, textMaxLength);

const FIELD_CHECKS: Readonly<Record<string, FieldCheck>> = {
  schemaVersion: (value) => value === AUDIT_EVENT_SCHEMA_VERSION,
  eventId: anId,
  ts: (value) => typeof value === "string" && TIMESTAMP_PATTERN.test(value),
  type: oneOf(AUDIT_EVENT_TYPES),
  actor: (value) => record(value, ACTOR_FIELDS, anId, ["kind", "id"]),
  project: (value) => text(value, 1, projectMaxLength) && projectPattern.test(value as string),
  environment: anId,
  model: anId,
  deployment: anId,
  endpointId: anId,
  region: anId,
  classification: oneOf(DATA_CLASSES),
  status: oneOf(AUDIT_STATUSES),
  httpStatus: (value) => typeof value === "number" && Number.isInteger(value) && value >= 100 && value <= 599,
  tokens: (value) => record(value, TOKEN_FIELDS, count, ["input", "output"]),
  costUsd: amount,
  latencyInMs: amount,
  dlpFindings: (value) => record(value, null, count),
  dlpAction: anId,
  requestId: anId,
  traceId: anId,
  policyVersion: (value) => text(value, 1, policyVersionMaxLength),
  reason: anId,
  contentDigest: (value) => typeof value === "string" && contentDigestPattern.test(value),
  subject: (value) => text(value, 0, textMaxLength),
  details: (value) => record(value, null, detail),
};
const FIELD_NAMES = Object.keys(FIELD_CHECKS);
const REQUIRED_FIELDS: ReadonlySet<string> = new Set(["schemaVersion", "eventId", "ts", "type", "actor", "project", "status", "policyVersion"]);

/** The fields this check knows (a test holds them equal to the schema's). */
export const PLAIN_AUDIT_EVENT_FIELDS: readonly string[] = FIELD_NAMES;
export const PLAIN_AUDIT_EVENT_REQUIRED_FIELDS: ReadonlySet<string> = REQUIRED_FIELDS;
