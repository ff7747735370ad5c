import { PalisadeError } from "../errors.js";

/**
 * The refusals of the admin API. Project ids the caller does not administer and unknown project ids
 * get the same answer, so ids do not leak.
 */

export const adminRoleRequired = (reason: string): PalisadeError =>
  new PalisadeError(
    403,
    "permission_error",
    "insufficient_role",
    `${reason} The admin API needs a Microsoft Entra ID token with the owner or admin role in the project; roles are granted in the policy file (members) or as app roles (<project>.owner, <project>.admin).`,
  );

export const notAdministered = (project: string): PalisadeError =>
  new PalisadeError(403, "permission_error", "not_a_project_member", `You are not a member of project "${project}". Ask a project owner to add you in the policy file.`);

export const adminNotFound = (message: string): PalisadeError => new PalisadeError(404, "not_found_error", "not_found", message);

export const adminConflict = (message: string, param: string | null = null): PalisadeError =>
  new PalisadeError(409, "invalid_request_error", "invalid_request", message, { param });

export const adminAuditUnavailable = (cause: unknown): PalisadeError =>
  new PalisadeError(503, "service_unavailable_error", "audit_unavailable", "Palisade could not record this admin action in the audit trail, so it was not carried out. Retry shortly.", {
    headers: { "retry-after": "5" },
    cause,
  });
