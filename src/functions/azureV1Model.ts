import { defineFunction } from "./definition.js";
import { model } from "./model.js";

/** GET /api/openai/v1/models/{id}: Azure's v1 API, one model of the project's allowlist, as /api/v1/models/{id}. */
export const azureV1Model = model;

export const definition = defineFunction({
  kind: "http",
  name: "azureV1Model",
  options: { route: "openai/v1/models/{id}", methods: ["GET"], authLevel: "anonymous", handler: azureV1Model },
});
