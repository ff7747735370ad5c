import { z } from "zod";
import { DATA_CLASSES } from "../policy/schema.js";
import { AUDIT_EVENT_SCHEMA_VERSION, AUDIT_EVENT_TYPES, type AuditEvent } from "./AuditEvent.js";
import { AUDIT_ACTOR_KINDS, AUDIT_EVENT_LIMITS, AUDIT_STATUSES, auditTimestampSchema } from "./auditEventLimits.js";
import { isPlainValidAuditEvent } from "./isPlainValidAuditEvent.js";

const id = z.string().min(1).max(AUDIT_EVENT_LIMITS.idMaxLength);

/** The wire schema of AuditEvent (strict: an unknown field is refused, not silently stored). */
export const auditEventSchema = z
  .object({
    schemaVersion: z.literal(AUDIT_EVENT_SCHEMA_VERSION),
    eventId: id,
    ts: auditTimestampSchema,
    type: z.enum(AUDIT_EVENT_TYPES),
    actor: z
      .object({ kind: z.enum(AUDIT_ACTOR_KINDS), id: id, keyId: id.optional() })
      .strict(),
    project: z.string().min(1).max(AUDIT_EVENT_LIMITS.projectMaxLength).regex(AUDIT_EVENT_LIMITS.projectPattern, "project ids are letters, digits, _ . -"),
    environment: id.optional(),
    model: id.optional(),
    deployment: id.optional(),
    endpointId: id.optional(),
    region: id.optional(),
    classification: z.enum(DATA_CLASSES).optional(),
    status: z.enum(AUDIT_STATUSES),
    httpStatus: z.number().int().min(100).max(599).optional(),
    tokens: z
      .object({ input: z.number().int().nonnegative(), cachedInput: z.number().int().nonnegative().optional(), output: z.number().int().nonnegative() })
      .strict()
      .optional(),
    costUsd: z.number().nonnegative().optional(),
    latencyInMs: z.number().nonnegative().optional(),
    dlpFindings: z.record(z.string(), z.number().int().nonnegative()).optional(),
    dlpAction: id.optional(),
    requestId: id.optional(),
    traceId: id.optional(),
    policyVersion: z.string().min(1).max(AUDIT_EVENT_LIMITS.policyVersionMaxLength),
    reason: id.optional(),
    contentDigest: z.string().regex(AUDIT_EVENT_LIMITS.contentDigestPattern).optional(),
    subject: z.string().max(AUDIT_EVENT_LIMITS.textMaxLength).optional(),
    details: z.record(z.string(), z.union([z.string().max(AUDIT_EVENT_LIMITS.textMaxLength), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict()
  .superRefine((event, context) => {
    const field = loneSurrogateField(event, []);
    if (field !== null) {
      context.addIssue({
        code: "custom",
        path: field,
        message: "holds a lone UTF-16 surrogate: audit events must be well-formed Unicode, which RFC 8785 canonical JSON requires",
      });
    }
  });

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The path of the first string (value or key) holding a lone surrogate. Strict JCS implementations
 * refuse such strings and others escape them, so two verifiers could hash the same event differently:
 * the event is refused at the boundary instead.
 */
function loneSurrogateField(value: unknown, path: (string | number)[]): (string | number)[] | null {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? path : null;
  if (typeof value !== "object" || value === null) return null;
  for (const [key, child] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return [...path, "(key)"];
    const found = loneSurrogateField(child, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

export type ParsedAuditEvent = { ok: true; event: AuditEvent } | { ok: false; reason: string };

/**
 * Validates a decoded message body. The reason names fields, never their values. What the schema
 * accepts is the definition; a plain, well-formed event passes a hand-written check of the same rules
 * first (a fraction of the schema's cost on the append's hot path), and anything that check does not
 * vouch for goes through the schema, so the fast path can only ever accept less, never more.
 */
export function parseAuditEvent(value: unknown): ParsedAuditEvent {
  if (isPlainValidAuditEvent(value)) return { ok: true, event: value };
  const result = auditEventSchema.safeParse(value);
  if (result.success) return { ok: true, event: result.data };
  // A custom issue's message is ours and names no value; zod's own messages may quote one.
  const issues = result.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.code === "custom" ? issue.message : issue.code}`);
  return { ok: false, reason: `schema: ${issues.join("; ")}` };
}

/** Decodes a Service Bus body (parsed JSON object, JSON text or UTF-8 bytes) and validates it. */
export function decodeAuditEvent(body: unknown): ParsedAuditEvent {
  let value = body;
  try {
    if (typeof body === "string") value = JSON.parse(body);
    else if (body instanceof Uint8Array) value = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return { ok: false, reason: "invalid_json: the message body is not JSON" };
  }
  return parseAuditEvent(value);
}
