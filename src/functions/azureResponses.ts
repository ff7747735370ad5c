import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** The Responses API as `AzureOpenAI` clients call it (`/openai/responses?api-version=...`): the model is in the body. */
export const azureResponses = operationRoute((operations) => operations.responses);

export const definition = defineFunction({
  kind: "http",
  name: "azureResponses",
  options: { route: "openai/responses", methods: ["POST"], authLevel: "anonymous", handler: azureResponses },
});
