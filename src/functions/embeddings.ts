import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/embeddings: governed embeddings, OpenAI-compatible. */
export const embeddings = operationRoute((operations) => operations.embeddings);

export const definition = defineFunction({
  kind: "http",
  name: "embeddings",
  options: { route: "v1/embeddings", methods: ["POST"], authLevel: "anonymous", handler: embeddings },
});
