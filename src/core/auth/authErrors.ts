import { PalisadeError } from "../errors.js";

/**
 * The 401s and 403s of authentication and authorization, in one place so their wording stays
 * consistent. Messages never carry a secret or a token.
 */

const HOW_TO_SEND =
  "Send a Palisade API key as `Authorization: Bearer pal_<keyId>_<secret>` (or in the `api-key` header), " +
  "or a Microsoft Entra ID access token as `Authorization: Bearer <token>`.";

const challenge = (error?: string): Record<string, string> => ({
  "www-authenticate": error === undefined ? 'Bearer realm="palisade"' : `Bearer realm="palisade", error="${error}"`,
});

const unauthorized = (code: "missing_api_key" | "invalid_api_key" | "expired_api_key" | "revoked_api_key" | "invalid_token" | "expired_token", message: string): PalisadeError =>
  new PalisadeError(401, "authentication_error", code, message, { headers: challenge(code === "missing_api_key" ? undefined : "invalid_token") });

export const missingApiKey = (reason = "No credentials were sent."): PalisadeError => unauthorized("missing_api_key", `${reason} ${HOW_TO_SEND}`);

/** The same message for a malformed key, an unknown key id and a wrong secret: no oracle. */
export const invalidApiKey = (): PalisadeError =>
  unauthorized("invalid_api_key", "Invalid API key. Check that you copied the whole key (it looks like pal_<keyId>_<secret>), or ask an operator for a new one.");

export const expiredApiKey = (keyId: string, expiredAt: string): PalisadeError =>
  unauthorized("expired_api_key", `API key ${keyId} expired at ${expiredAt}. Ask an operator to create a new key (palisade keys create).`);

export const revokedApiKey = (keyId: string): PalisadeError =>
  unauthorized("revoked_api_key", `API key ${keyId} has been revoked. Ask an operator to create a new key (palisade keys create).`);

export const invalidToken = (reason: string): PalisadeError =>
  unauthorized("invalid_token", `Invalid access token: ${reason}`);

export const expiredToken = (): PalisadeError =>
  unauthorized("expired_token", "The access token has expired. Acquire a new token from Microsoft Entra ID and retry.");

const forbidden = (code: "insufficient_role" | "not_a_project_member" | "missing_permission" | "ip_not_allowed" | "model_not_allowed", message: string, param: string | null = null): PalisadeError =>
  new PalisadeError(403, "permission_error", code, message, { param });

export const insufficientRole = (project: string, role: string, needed: string): PalisadeError =>
  forbidden("insufficient_role", `Your role in project "${project}" is ${role}, which cannot ${needed}. Ask a project owner or admin for the member role.`);

export const notAProjectMember = (message: string): PalisadeError => forbidden("not_a_project_member", message);

export const missingPermission = (message: string): PalisadeError => forbidden("missing_permission", message);

export const ipNotAllowed = (message: string): PalisadeError => forbidden("ip_not_allowed", message);

export const modelNotAllowed = (model: string, project: string, allowed: readonly string[]): PalisadeError =>
  forbidden("model_not_allowed", `Model "${model}" is not allowed for project "${project}". Allowed models: ${allowed.join(", ")}.`, "model");
