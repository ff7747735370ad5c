import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** GET /api/openai/v1/responses/{id}/input_items: a stored Response's input items, listed for the project that made it, inspected like output. */
export const azureV1StoredResponseInputItems = storedResponseRoute({ GET: (operations) => operations.listResponseInputItems });

export const definition = defineFunction({
  kind: "http",
  name: "azureV1StoredResponseInputItems",
  options: { route: "openai/v1/responses/{id}/input_items", methods: ["GET"], authLevel: "anonymous", handler: azureV1StoredResponseInputItems },
});
