import { operationRoute } from "../composition/operationRoute.js";
import { deploymentFromPath } from "../composition/deploymentFromPath.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's embeddings route: the deployment in the path names the model; `api-version` is accepted. */
export const azureDeploymentEmbeddings = operationRoute((operations) => operations.embeddings, deploymentFromPath);

export const definition = defineFunction({
  kind: "http",
  name: "azureDeploymentEmbeddings",
  options: { route: "openai/deployments/{deployment}/embeddings", methods: ["POST"], authLevel: "anonymous", handler: azureDeploymentEmbeddings },
});
