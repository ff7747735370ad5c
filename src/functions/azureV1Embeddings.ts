import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's v1 API: embeddings, the model in the body. */
export const azureV1Embeddings = operationRoute((operations) => operations.embeddings);

export const definition = defineFunction({
  kind: "http",
  name: "azureV1Embeddings",
  options: { route: "openai/v1/embeddings", methods: ["POST"], authLevel: "anonymous", handler: azureV1Embeddings },
});
