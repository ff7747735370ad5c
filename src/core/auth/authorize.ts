import { invalidRequest } from "../errors.js";
import { ipAllowed } from "../network/cidr.js";
import { type Permission, type Policy, type ProjectPolicy, type Role, type ServiceAccountPolicy } from "../policy/schema.js";
import { insufficientRole, ipNotAllowed, missingPermission, modelNotAllowed, notAProjectMember } from "./authErrors.js";
import { type Principal, type ServiceAccountPrincipal, type UserPrincipal } from "./Principal.js";

export interface AuthorizeInput {
  readonly principal: Principal;
  readonly policy: Policy;
  /** From `OpenAI-Project` or `x-palisade-project` (see requestedProjectFromHeaders). */
  readonly requestedProject?: string | null;
  readonly permission: Permission;
  /** From clientAddress(); null when unknown (fails any IP allowlist). */
  readonly clientIp: string | null;
  /** The `model` of the request, when it names one. */
  readonly model?: string | null;
  /** The model is a deployment name from an Azure path: a project model of that name, else the one mapped to that deployment. */
  readonly modelMayBeDeployment?: boolean;
}

export interface AuthorizedModel {
  readonly name: string;
  readonly deployment: string;
}

export interface AuthorizedContext {
  readonly project: ProjectPolicy;
  /** The caller's service account, for API keys; null for Entra users. */
  readonly serviceAccount: ServiceAccountPolicy | null;
  /** The caller's role in the project, for Entra users; null for service accounts. */
  readonly role: Role | null;
  /** The requested model, resolved to its deployment, when the input named one. */
  readonly model?: AuthorizedModel;
}

/** What each user role may do. Service accounts use their declared permissions instead. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: ["chat.completions", "models.list", "embeddings.create", "responses.create"],
  admin: ["chat.completions", "models.list", "embeddings.create", "responses.create"],
  member: ["chat.completions", "models.list", "embeddings.create", "responses.create"],
  reader: ["models.list"],
};

const PERMISSION_VERBS: Readonly<Record<Permission, string>> = {
  "chat.completions": "call chat completions",
  "models.list": "list models",
  "embeddings.create": "create embeddings",
  "responses.create": "create responses",
};

/** Caller-supplied text in messages: short and printable. */
function quoted(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}

/**
 * Decides whether the principal may use `permission` in the target project from this address with
 * this model. Throws a distinct 403 for each reason (400 when an Entra user with several projects
 * names none); returns what later steps need.
 */
export function authorize(input: AuthorizeInput): AuthorizedContext {
  const requested = input.requestedProject?.trim() || null;
  const context = input.principal.kind === "service-account" ? authorizeServiceAccount(input, input.principal, requested) : authorizeUser(input, input.principal, requested);
  if (input.model === undefined || input.model === null) return context;
  return { ...context, model: authorizedModel(context.project, input.model, input.modelMayBeDeployment === true) };
}

/** A model of the project's allowlist, by name (or by its deployment, from an Azure path); 403 `model_not_allowed` otherwise. */
export function authorizedModel(project: ProjectPolicy, name: string, mayBeDeployment = false): AuthorizedModel {
  const model = project.models.find((candidate) => candidate.name === name) ?? (mayBeDeployment ? project.models.find((candidate) => candidate.deployment === name) : undefined);
  if (model === undefined) {
    throw modelNotAllowed(
      quoted(name),
      project.id,
      project.models.map((candidate) => candidate.name),
    );
  }
  return { name: model.name, deployment: model.deployment };
}

function authorizeServiceAccount(input: AuthorizeInput, principal: ServiceAccountPrincipal, requested: string | null): AuthorizedContext {
  if (requested !== null && requested !== principal.project) {
    throw notAProjectMember(`This API key belongs to project "${principal.project}" and cannot be used for project "${quoted(requested)}". Use a key of that project, or drop the OpenAI-Project / x-palisade-project header.`);
  }
  const project = input.policy.projects.find((candidate) => candidate.id === principal.project);
  if (project === undefined) {
    throw notAProjectMember(`This API key belongs to project "${principal.project}", which is no longer in the policy. Ask an operator to restore the project or issue a new key.`);
  }
  const serviceAccount = input.policy.serviceAccounts.find((candidate) => candidate.id === principal.id && candidate.project === principal.project);
  if (serviceAccount === undefined) {
    throw missingPermission(`Service account "${principal.id}" is not declared for project "${principal.project}" in the policy, so its keys carry no permissions. Ask an operator to add it under serviceAccounts.`);
  }
  // The network check comes before the permission check, so a key used from the wrong network learns nothing else.
  if (!ipAllowed(input.clientIp, serviceAccount.ipAllowlist)) {
    const where = input.clientIp === null ? "The client address could not be determined" : `Client address ${input.clientIp} is`;
    throw ipNotAllowed(`${where} not in the IP allowlist of service account "${serviceAccount.id}". Call from an allowed network, or ask an operator to extend the allowlist.`);
  }
  if (!serviceAccount.permissions.includes(input.permission)) {
    throw missingPermission(`Service account "${serviceAccount.id}" lacks the permission "${input.permission}" (it has: ${serviceAccount.permissions.join(", ")}). Ask an operator to grant it in the policy.`);
  }
  return { project, serviceAccount, role: null };
}

function authorizeUser(input: AuthorizeInput, principal: UserPrincipal, requested: string | null): AuthorizedContext {
  const memberOf = Object.keys(principal.roles)
    .filter((projectId) => input.policy.projects.some((project) => project.id === projectId))
    .sort();
  let projectId: string;
  if (requested !== null) {
    // Unknown project and "not yours" get the same answer, so project ids do not leak.
    if (!memberOf.includes(requested)) {
      throw notAProjectMember(`You are not a member of project "${quoted(requested)}". Ask a project owner to add you, or name a project you belong to in the OpenAI-Project header.`);
    }
    projectId = requested;
  } else if (memberOf.length === 1 && memberOf[0] !== undefined) {
    projectId = memberOf[0];
  } else if (memberOf.length === 0) {
    throw notAProjectMember("You are not a member of any project. Ask a project owner to add you (policy.members) or to assign you an app role such as <project>.member.");
  } else {
    throw invalidRequest(`You are a member of several projects (${memberOf.join(", ")}); name one in the OpenAI-Project or x-palisade-project header.`, "OpenAI-Project");
  }
  const project = input.policy.projects.find((candidate) => candidate.id === projectId);
  const role = principal.roles[projectId];
  if (project === undefined || role === undefined) throw notAProjectMember(`You are not a member of project "${quoted(projectId)}".`);
  if (!ROLE_PERMISSIONS[role].includes(input.permission)) throw insufficientRole(project.id, role, PERMISSION_VERBS[input.permission]);
  return { project, serviceAccount: null, role };
}

/** The models GET /models may list for an authorized caller. */
export function allowedModels(context: AuthorizedContext): readonly AuthorizedModel[] {
  return context.project.models.map((model) => ({ name: model.name, deployment: model.deployment }));
}

/**
 * The project a request names: `OpenAI-Project` (sent by the official openai client when `project` is
 * set) or `x-palisade-project`. Sending both with different values is a 400.
 */
export function requestedProjectFromHeaders(header: (name: string) => string | null | undefined): string | null {
  const openAi = header("openai-project")?.trim() || null;
  const palisade = header("x-palisade-project")?.trim() || null;
  if (openAi !== null && palisade !== null && openAi !== palisade) {
    throw invalidRequest("The OpenAI-Project and x-palisade-project headers name different projects; send one.", "OpenAI-Project");
  }
  return openAi ?? palisade;
}
