import { defineFunction } from "./definition.js";
import { model } from "./model.js";

/** GET /api/openai/models/{id}?api-version=...: `AzureOpenAI.models.retrieve(id)`, one model of the project's allowlist. */
export const azureModel = model;

export const definition = defineFunction({
  kind: "http",
  name: "azureModel",
  options: { route: "openai/models/{id}", methods: ["GET"], authLevel: "anonymous", handler: azureModel },
});
