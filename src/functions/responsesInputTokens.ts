import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/responses/input_tokens: a request's input tokens counted upstream (`client.responses.inputTokens.count`). */
export const responsesInputTokens = operationRoute((operations) => operations.countInputTokens);

export const definition = defineFunction({
  kind: "http",
  name: "responsesInputTokens",
  options: { route: "v1/responses/input_tokens", methods: ["POST"], authLevel: "anonymous", handler: responsesInputTokens },
});
