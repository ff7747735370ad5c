import { type Authenticator } from "../auth/Authenticator.js";
import { type UserPrincipal } from "../auth/Principal.js";
import { type Policy, type ProjectPolicy, type Role } from "../policy/schema.js";
import { adminRoleRequired, notAdministered } from "./adminErrors.js";

/** Who is calling and how: the two credential headers and the request id (for the audit event). */
export interface AdminCaller {
  readonly authorization: string | null;
  readonly apiKey: string | null;
  readonly requestId: string;
}

export interface AdministeredProject {
  readonly project: ProjectPolicy;
  readonly role: Role;
}

const ADMIN_ROLES: readonly Role[] = ["owner", "admin"];

/** Caller-supplied text in messages: short and printable. */
export const quoted = (text: string): string => text.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);

/**
 * Who may use the admin API: Entra ID users with the owner or admin role in a project of the policy.
 * API keys never may. An unknown project and a project the caller is not in get the same answer.
 */
export class AdminAccess {
  constructor(
    private readonly authenticator: Pick<Authenticator, "authenticate">,
    private readonly policy: Policy,
  ) {}

  async authenticate(caller: AdminCaller): Promise<UserPrincipal> {
    const principal = await this.authenticator.authenticate(caller.authorization, caller.apiKey);
    if (principal.kind === "service-account") throw adminRoleRequired("API keys cannot use the admin API.");
    return principal;
  }

  administered(principal: UserPrincipal): AdministeredProject[] {
    return this.policy.projects.flatMap((project) => {
      const role = principal.roles[project.id];
      return role !== undefined && ADMIN_ROLES.includes(role) ? [{ project, role }] : [];
    });
  }

  /** The caller, who must administer at least one project. */
  async requireAnyProject(caller: AdminCaller): Promise<{ principal: UserPrincipal; projects: AdministeredProject[] }> {
    const principal = await this.authenticate(caller);
    const projects = this.administered(principal);
    if (projects.length === 0) throw adminRoleRequired("You are not an owner or admin of any project.");
    return { principal, projects };
  }

  async requireAdmin(caller: AdminCaller, projectId: string): Promise<{ principal: UserPrincipal; project: ProjectPolicy }> {
    const principal = await this.authenticate(caller);
    return { principal, project: this.projectAdministeredBy(principal, projectId) };
  }

  projectAdministeredBy(principal: UserPrincipal, projectId: string): ProjectPolicy {
    const project = this.policy.projects.find((candidate) => candidate.id === projectId);
    const role = principal.roles[projectId];
    if (project === undefined || role === undefined) throw notAdministered(quoted(projectId));
    if (!ADMIN_ROLES.includes(role)) throw adminRoleRequired(`Your role in project "${project.id}" is ${role}.`);
    return project;
  }
}
