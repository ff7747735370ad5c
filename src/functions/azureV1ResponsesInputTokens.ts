import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/openai/v1/responses/input_tokens: the count on Azure's v1 path (passed to the endpoint's v1 API). */
export const azureV1ResponsesInputTokens = operationRoute((operations) => operations.countInputTokens);

export const definition = defineFunction({
  kind: "http",
  name: "azureV1ResponsesInputTokens",
  options: { route: "openai/v1/responses/input_tokens", methods: ["POST"], authLevel: "anonymous", handler: azureV1ResponsesInputTokens },
});
