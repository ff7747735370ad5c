import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** A stored Response as `AzureOpenAI` reads it back (`/openai/responses/{id}?api-version=...`). */
export const azureStoredResponse = storedResponseRoute({ GET: (operations) => operations.retrieveResponse });

export const definition = defineFunction({
  kind: "http",
  name: "azureStoredResponse",
  options: { route: "openai/responses/{id}", methods: ["GET"], authLevel: "anonymous", handler: azureStoredResponse },
});
