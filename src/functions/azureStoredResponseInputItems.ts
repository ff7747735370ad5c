import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** GET /api/openai/responses/{id}/input_items: a stored Response's input items, listed for the project that made it, inspected like output. */
export const azureStoredResponseInputItems = storedResponseRoute({ GET: (operations) => operations.listResponseInputItems });

export const definition = defineFunction({
  kind: "http",
  name: "azureStoredResponseInputItems",
  options: { route: "openai/responses/{id}/input_items", methods: ["GET"], authLevel: "anonymous", handler: azureStoredResponseInputItems },
});
