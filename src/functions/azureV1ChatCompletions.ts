import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's v1 API (`/openai/v1/...`, no dated api-version): chat completions, the model in the body. */
export const azureV1ChatCompletions = operationRoute((operations) => operations.chat);

export const definition = defineFunction({
  kind: "http",
  name: "azureV1ChatCompletions",
  options: { route: "openai/v1/chat/completions", methods: ["POST"], authLevel: "anonymous", handler: azureV1ChatCompletions },
});
