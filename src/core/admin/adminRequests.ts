import { z } from "zod";
import { invalidRequest } from "../errors.js";

/** Keys live at most ten years (as ApiKeyService enforces). */
export const MAX_KEY_LIFETIME_IN_DAYS = 3650;
/** The longest a rotated key's predecessor may keep working: a deploy window, not a second key. */
export const MAX_KEY_OVERLAP_IN_SECONDS = 7 * 24 * 3600;

const identifier = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a policy id (lower-case letters, digits and dashes)");
const days = z.number().int().min(1).max(MAX_KEY_LIFETIME_IN_DAYS);

export const createKeyRequestSchema = z
  .object({
    serviceAccount: identifier,
    expiresInDays: days,
  })
  .strict();
export type CreateKeyRequest = z.infer<typeof createKeyRequestSchema>;

export const rotateKeyRequestSchema = z
  .object({
    /** How long the old key keeps working after the new one is issued (default 0: revoked at once). */
    overlapInSeconds: z.number().int().min(0).max(MAX_KEY_OVERLAP_IN_SECONDS).default(0),
    /** The new key's lifetime; default: the old key's original lifetime. */
    expiresInDays: days.optional(),
  })
  .strict();
export type RotateKeyRequest = z.infer<typeof rotateKeyRequestSchema>;

export const rotateCredentialRequestSchema = z
  .object({
    /** Overrides the credential's overlap for this rotation; default: the credential's own. */
    overlapInSeconds: z.number().int().min(0).max(MAX_KEY_OVERLAP_IN_SECONDS).optional(),
  })
  .strict();
export type RotateCredentialRequest = z.infer<typeof rotateCredentialRequestSchema>;

/** Caller-supplied names in messages: short and printable. */
const printable = (text: string): string => text.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);

/** Parses a body with a schema; a 400 names the first offending field and never echoes its value. */
export function parseAdminBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue?.path.map(String).join(".") || null;
  if (issue?.code === "unrecognized_keys") {
    const names = issue.keys.slice(0, 5).map(printable);
    throw invalidRequest(`Unknown field(s): ${names.join(", ")}. See docs/admin-api.md for the body this route takes.`, names[0] ?? null);
  }
  throw invalidRequest(`${param ?? "The body"}: ${issue?.message ?? "is not valid"}. See docs/admin-api.md for the body this route takes.`, param);
}
