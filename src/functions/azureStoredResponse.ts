import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** A stored Response as `AzureOpenAI` reads it back and deletes it (`/openai/responses/{id}?api-version=...`). */
export const azureStoredResponse = storedResponseRoute({ GET: (operations) => operations.retrieveResponse, DELETE: (operations) => operations.deleteResponse });

export const definition = defineFunction({
  kind: "http",
  name: "azureStoredResponse",
  options: { route: "openai/responses/{id}", methods: ["GET", "DELETE"], authLevel: "anonymous", handler: azureStoredResponse },
});
