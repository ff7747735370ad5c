import { storedResponseRoute } from "../composition/storedResponseRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/responses/{id}/cancel: a background Response cancelled by the project that made it. */
export const storedResponseCancel = storedResponseRoute({ POST: (operations) => operations.cancelResponse });

export const definition = defineFunction({
  kind: "http",
  name: "storedResponseCancel",
  options: { route: "v1/responses/{id}/cancel", methods: ["POST"], authLevel: "anonymous", handler: storedResponseCancel },
});
