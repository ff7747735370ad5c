import { operationRoute } from "../composition/operationRoute.js";
import { deploymentFromPath } from "../composition/deploymentFromPath.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's chat route (`AzureOpenAI` clients): the deployment in the path names the model; `api-version` is accepted whatever its value. */
export const azureDeploymentChatCompletions = operationRoute((operations) => operations.chat, deploymentFromPath);

export const definition = defineFunction({
  kind: "http",
  name: "azureDeploymentChatCompletions",
  options: { route: "openai/deployments/{deployment}/chat/completions", methods: ["POST"], authLevel: "anonymous", handler: azureDeploymentChatCompletions },
});
