import { operationRoute } from "../composition/operationRoute.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/chat/completions: the governed completion, OpenAI-compatible, plain or streamed. */
export const chatCompletions = operationRoute((operations) => operations.chat);

export const definition = defineFunction({
  kind: "http",
  name: "chatCompletions",
  options: { route: "v1/chat/completions", methods: ["POST"], authLevel: "anonymous", handler: chatCompletions },
});
