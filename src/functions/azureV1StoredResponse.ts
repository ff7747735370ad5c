import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** Azure OpenAI's v1 API: a stored Response read back (GET) or deleted (DELETE) by the project that made it. */
export const azureV1StoredResponse = storedResponseRoute({ GET: (operations) => operations.retrieveResponse, DELETE: (operations) => operations.deleteResponse });

export const definition = defineFunction({
  kind: "http",
  name: "azureV1StoredResponse",
  options: { route: "openai/v1/responses/{id}", methods: ["GET", "DELETE"], authLevel: "anonymous", handler: azureV1StoredResponse },
});
