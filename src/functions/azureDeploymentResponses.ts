import { operationRoute } from "../composition/operationRoute.js";
import { deploymentFromPath } from "../composition/deploymentFromPath.js";
import { defineFunction } from "./definition.js";

/** The Responses API on a deployment route (`@ai-sdk/azure` with deployment-based URLs): the deployment in the path names the model. */
export const azureDeploymentResponses = operationRoute((operations) => operations.responses, deploymentFromPath);

export const definition = defineFunction({
  kind: "http",
  name: "azureDeploymentResponses",
  options: { route: "openai/deployments/{deployment}/responses", methods: ["POST"], authLevel: "anonymous", handler: azureDeploymentResponses },
});
