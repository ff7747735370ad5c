import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/responses: the governed Responses API, plain or streamed (typed SSE events). */
export const responses = operationRoute((operations) => operations.responses);

export const definition = defineFunction({
  kind: "http",
  name: "responses",
  options: { route: "v1/responses", methods: ["POST"], authLevel: "anonymous", handler: responses },
});
