import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's v1 API: POST /api/openai/v1/responses/compact, the model in the body. */
export const azureV1ResponsesCompact = operationRoute((operations) => operations.compactResponse);

export const definition = defineFunction({
  kind: "http",
  name: "azureV1ResponsesCompact",
  options: { route: "openai/v1/responses/compact", methods: ["POST"], authLevel: "anonymous", handler: azureV1ResponsesCompact },
});
