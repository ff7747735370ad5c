import { defineFunction } from "./definition.js";
import { notFound } from "./notFound.js";

/** Anything else under /api/openai (Azure OpenAI's files, batches, images, audio, assistants, ...): refused and recorded, as under /api/v1. */
export const azureNotGoverned = notFound;

export const definition = defineFunction({
  kind: "http",
  name: "azureNotGoverned",
  options: { route: "openai/{*rest}", methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], authLevel: "anonymous", handler: azureNotGoverned },
});
