import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's v1 API: the Responses API (`@ai-sdk/azure`'s default), the model in the body. */
export const azureV1Responses = operationRoute((operations) => operations.responses);

export const definition = defineFunction({
  kind: "http",
  name: "azureV1Responses",
  options: { route: "openai/v1/responses", methods: ["POST"], authLevel: "anonymous", handler: azureV1Responses },
});
