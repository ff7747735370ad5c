import { type Permission, type Policy, type Role } from "../policy/schema.js";
import { type AdminAccess, type AdminCaller } from "./AdminAccess.js";
import { type ListView, listView } from "./adminViews.js";

export interface ProjectView {
  readonly object: "project";
  readonly id: string;
  readonly environment: string;
  readonly residency: string;
  readonly models: readonly { readonly name: string; readonly deployment: string }[];
  /** The caller's role in it. */
  readonly role: Role;
}

export interface MemberView {
  readonly object: "project.member";
  readonly principal: string;
  readonly displayName: string | null;
  readonly role: Role;
}

export interface ServiceAccountView {
  readonly object: "project.service_account";
  readonly id: string;
  readonly permissions: readonly Permission[];
  readonly ipAllowlist: readonly string[];
  readonly limits: { readonly requestsPerMinute: number | null; readonly tokensPerMinute: number | null };
}

/** Projects, members and service accounts as the policy file declares them: read-only here. */
export class ProjectDirectory {
  constructor(
    private readonly access: AdminAccess,
    private readonly policy: Policy,
  ) {}

  /** GET /projects: the projects the caller is owner or admin of. */
  async listProjects(caller: AdminCaller): Promise<ListView<ProjectView>> {
    const { projects } = await this.access.requireAnyProject(caller);
    return listView(
      projects.map(({ project, role }) => ({
        object: "project",
        id: project.id,
        environment: project.environment,
        residency: project.residency,
        models: project.models.map((model) => ({ name: model.name, deployment: model.deployment })),
        role,
      })),
    );
  }

  /** GET /projects/{project}/members: the policy's members with a role in the project. */
  async listMembers(caller: AdminCaller, projectId: string): Promise<ListView<MemberView>> {
    const { project } = await this.access.requireAdmin(caller, projectId);
    const members: MemberView[] = [];
    for (const member of this.policy.members) {
      const role = member.roles[project.id];
      if (role !== undefined) members.push({ object: "project.member", principal: member.principal, displayName: member.displayName ?? null, role });
    }
    return listView(members);
  }

  /** GET /projects/{project}/service-accounts: as declared in the policy. */
  async listServiceAccounts(caller: AdminCaller, projectId: string): Promise<ListView<ServiceAccountView>> {
    const { project } = await this.access.requireAdmin(caller, projectId);
    return listView(
      this.policy.serviceAccounts
        .filter((account) => account.project === project.id)
        .map((account) => ({
          object: "project.service_account",
          id: account.id,
          permissions: account.permissions,
          ipAllowlist: account.ipAllowlist,
          limits: { requestsPerMinute: account.limits.requestsPerMinute ?? null, tokensPerMinute: account.limits.tokensPerMinute ?? null },
        })),
    );
  }
}
