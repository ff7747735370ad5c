import { type FrontDoor } from "./operationRoute.js";

/**
 * The front door of Azure's deployment routes (`/openai/deployments/{deployment}/...`): the deployment
 * in the path is the model, whatever the body says (Azure clients often send none). The pipeline
 * resolves it to a model of the project's allowlist: by name first, else by the deployment it maps to.
 */
export const deploymentFromPath: FrontDoor = (input, request) => {
  const deployment = request.params.deployment ?? "";
  const body = typeof input.body === "object" && input.body !== null && !Array.isArray(input.body) ? { ...(input.body as Record<string, unknown>), model: deployment } : input.body;
  return { ...input, body, modelFromDeploymentPath: true };
};
