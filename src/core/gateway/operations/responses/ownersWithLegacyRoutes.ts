import { type Policy } from "../../../policy/schema.js";
import { isCompliantEndpoint } from "../../../routing/planRoute.js";
import { type StoredResponseOwner, type StoredResponseOwners } from "./StoredResponseOwners.js";

/**
 * Where a Response recorded without its model and endpoint (owner records of session 12 builds) is
 * looked for: where a create by its project would have gone. The project's first model that an
 * endpoint serves for Responses within the project's residency, on the first such endpoint by
 * priority (then policy order), as `planRoute` ranks them for a request without sensitive data. Null
 * when the project (or such an endpoint) is gone from the policy. A wrong guess (several models or
 * endpoints, or a failover at the time) costs the caller a 404 from that endpoint, never another
 * project's Response: the owner check already passed.
 */
export function legacyOwnerRoute(policy: Policy, owner: StoredResponseOwner): Required<StoredResponseOwner> | null {
  const project = policy.projects.find((candidate) => candidate.id === owner.projectId);
  if (project === undefined) return null;
  const models = owner.model === undefined ? project.models : project.models.filter((model) => model.name === owner.model);
  for (const model of models) {
    const rule = { allowedClasses: policy.routing.allowedClasses.public, residency: project.residency, deployment: model.deployment, operation: "responses" as const };
    const endpoints = policy.endpoints.filter((endpoint) => isCompliantEndpoint(endpoint, rule) && (owner.endpointId === undefined || endpoint.id === owner.endpointId));
    const endpoint = endpoints.reduce<(typeof endpoints)[number] | undefined>((best, candidate) => (best === undefined || candidate.priority < best.priority ? candidate : best), undefined);
    if (endpoint !== undefined) return { projectId: owner.projectId, model: model.name, endpointId: endpoint.id };
  }
  return null;
}

/** `owners`, with a record that lacks its model or endpoint completed by `legacyOwnerRoute` (left as it is when there is none). */
export function ownersWithLegacyRoutes(owners: StoredResponseOwners, policy: Policy): StoredResponseOwners {
  return {
    record: (responseId, owner) => owners.record(responseId, owner),
    ownerOf: async (responseId) => {
      const owner = await owners.ownerOf(responseId);
      if (owner === null || (owner.model !== undefined && owner.endpointId !== undefined)) return owner;
      return legacyOwnerRoute(policy, owner) ?? owner;
    },
    forget: (responseId) => owners.forget(responseId),
    purgeExpired: (options) => owners.purgeExpired(options),
  };
}
