import { defineFunction } from "./definition.js";
import { models } from "./models.js";

/**
 * GET /api/openai/models?api-version=...: what `AzureOpenAI.models.list()` calls. Azure lists the
 * resource's base models there; Palisade answers with the project's allowlist, as /api/v1/models.
 */
export const azureModels = models;

export const definition = defineFunction({
  kind: "http",
  name: "azureModels",
  options: { route: "openai/models", methods: ["GET"], authLevel: "anonymous", handler: azureModels },
});
