import { type Policy, ROLES, type Role } from "../policy/schema.js";
import { type UserPrincipal } from "./Principal.js";
import { type VerifiedClaims } from "./TokenVerifier.js";

/** Highest first: when a caller has several roles in one project, the strongest wins. */
const ROLE_RANK: Readonly<Record<Role, number>> = { owner: 4, admin: 3, member: 2, reader: 1 };
const ROLE_SET: ReadonlySet<string> = new Set(ROLES);

const isRole = (text: string): text is Role => ROLE_SET.has(text);

/**
 * Parses an app role value `<project>.<role>` (e.g. `billing.member`). The project is everything
 * before the LAST dot, so the value splits one way only. Returns null for anything else, so app roles
 * an application defines for other purposes are ignored.
 */
export function parseAppRole(value: string): { project: string; role: Role } | null {
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return null;
  const project = value.slice(0, dot);
  const role = value.slice(dot + 1);
  if (!isRole(role) || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(project)) return null;
  return { project, role };
}

/**
 * Maps a verified Entra ID token to a Palisade user:
 * - a member of policy.members matches when its `principal` equals the token's object id (`oid`), or
 *   one of its sign-in names (`upn`, `preferred_username`, `email`, `unique_name`), case-insensitively;
 * - each app role `<project>.<role>` in the `roles` claim grants that role in that project, if the
 *   project exists in the policy (applications with client-credential tokens get access this way);
 * - when several sources grant roles in one project, the strongest role wins.
 * A token that maps to no role is still authenticated; authorization then refuses it per project.
 */
export function mapEntraPrincipal(claims: VerifiedClaims, policy: Policy): UserPrincipal {
  const projectIds = new Set(policy.projects.map((project) => project.id));
  const identities = new Set<string>();
  if (claims.objectId !== null) identities.add(claims.objectId.toLowerCase());
  for (const name of claims.names) identities.add(name.toLowerCase());

  const roles = new Map<string, Role>();
  const grant = (project: string, role: Role): void => {
    if (!projectIds.has(project)) return;
    const current = roles.get(project);
    if (current === undefined || ROLE_RANK[role] > ROLE_RANK[current]) roles.set(project, role);
  };

  let memberDisplayName: string | undefined;
  for (const member of policy.members) {
    if (!identities.has(member.principal.toLowerCase())) continue;
    memberDisplayName ??= member.displayName;
    for (const [project, role] of Object.entries(member.roles)) grant(project, role);
  }
  for (const value of claims.roles) {
    const appRole = parseAppRole(value);
    if (appRole !== null) grant(appRole.project, appRole.role);
  }

  const id = claims.objectId ?? claims.names[0] ?? claims.subject;
  const displayName = memberDisplayName ?? claims.displayName ?? undefined;
  return {
    kind: "user",
    id,
    ...(displayName === undefined ? {} : { displayName }),
    roles: Object.fromEntries(roles),
  };
}
