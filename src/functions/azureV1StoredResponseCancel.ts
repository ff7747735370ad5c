import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/openai/v1/responses/{id}/cancel: a background Response cancelled by the project that made it. */
export const azureV1StoredResponseCancel = storedResponseRoute({ POST: (operations) => operations.cancelResponse });

export const definition = defineFunction({
  kind: "http",
  name: "azureV1StoredResponseCancel",
  options: { route: "openai/v1/responses/{id}/cancel", methods: ["POST"], authLevel: "anonymous", handler: azureV1StoredResponseCancel },
});
