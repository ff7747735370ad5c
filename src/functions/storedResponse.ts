import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** /api/v1/responses/{id}: a stored Response read back (GET, `client.responses.retrieve`) or deleted (DELETE) by the project that made it. */
export const storedResponse = storedResponseRoute({ GET: (operations) => operations.retrieveResponse, DELETE: (operations) => operations.deleteResponse });

export const definition = defineFunction({
  kind: "http",
  name: "storedResponse",
  options: { route: "v1/responses/{id}", methods: ["GET", "DELETE"], authLevel: "anonymous", handler: storedResponse },
});
