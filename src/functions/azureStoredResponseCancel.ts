import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/openai/responses/{id}/cancel: a background Response cancelled by the project that made it. */
export const azureStoredResponseCancel = storedResponseRoute({ POST: (operations) => operations.cancelResponse });

export const definition = defineFunction({
  kind: "http",
  name: "azureStoredResponseCancel",
  options: { route: "openai/responses/{id}/cancel", methods: ["POST"], authLevel: "anonymous", handler: azureStoredResponseCancel },
});
