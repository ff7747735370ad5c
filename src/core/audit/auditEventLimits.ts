import { z } from "zod";

/** The limits and patterns of the wire schema, named once for the schema and its fast path. */
export const AUDIT_EVENT_LIMITS = {
  idMaxLength: 256,
  projectMaxLength: 200,
  projectPattern: /^[A-Za-z0-9_.-]+$/,
  policyVersionMaxLength: 128,
  contentDigestPattern: /^[0-9a-f]{64}$/,
  textMaxLength: 1024,
} as const;
export const AUDIT_ACTOR_KINDS = ["service-account", "user", "system", "anonymous"] as const;
export const AUDIT_STATUSES = ["success", "error", "blocked"] as const;
/** ISO 8601 UTC with seconds, `Z` only (no offset). */
export const auditTimestampSchema = z.iso.datetime({ offset: false });
