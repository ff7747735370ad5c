import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** GET /api/v1/responses/{id}: a stored Response read back by the project that made it (`client.responses.retrieve`). */
export const storedResponse = storedResponseRoute({ GET: (operations) => operations.retrieveResponse });

export const definition = defineFunction({
  kind: "http",
  name: "storedResponse",
  options: { route: "v1/responses/{id}", methods: ["GET"], authLevel: "anonymous", handler: storedResponse },
});
