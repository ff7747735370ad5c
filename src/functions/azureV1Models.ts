import { defineFunction } from "./definition.js";
import { models } from "./models.js";

/** GET /api/openai/v1/models: Azure's v1 API lists the same models as /api/v1/models (the project's allowlist). */
export const azureV1Models = models;

export const definition = defineFunction({
  kind: "http",
  name: "azureV1Models",
  options: { route: "openai/v1/models", methods: ["GET"], authLevel: "anonymous", handler: azureV1Models },
});
