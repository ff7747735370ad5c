import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** GET /api/v1/responses/{id}/input_items: a stored Response's input items, listed for the project that made it, inspected like output. */
export const storedResponseInputItems = storedResponseRoute({ GET: (operations) => operations.listResponseInputItems });

export const definition = defineFunction({
  kind: "http",
  name: "storedResponseInputItems",
  options: { route: "v1/responses/{id}/input_items", methods: ["GET"], authLevel: "anonymous", handler: storedResponseInputItems },
});
