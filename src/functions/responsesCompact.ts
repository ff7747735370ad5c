import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/responses/compact: a conversation compacted by the model (`client.responses.compact`), governed like a create. */
export const responsesCompact = operationRoute((operations) => operations.compactResponse);

export const definition = defineFunction({
  kind: "http",
  name: "responsesCompact",
  options: { route: "v1/responses/compact", methods: ["POST"], authLevel: "anonymous", handler: responsesCompact },
});
