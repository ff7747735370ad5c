import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse, reportUnexpectedError } from "../adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../adapters/http/gatewayHttp.js";
import { readJsonBody } from "../adapters/http/readJsonBody.js";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/** POST /api/v1/chat/completions: the governed completion, OpenAI-compatible, plain or streamed. */
export async function chatCompletions(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const services = await getAppServices();
    const body = await readJsonBody(request, services.policy.policy.limits.maxBodyBytes);
    // The invocation's trace context (the host's span for this call) parents the request's spans.
    const input = gatewayRequestOf(request, requestId, services.policy.policy.network.trustedProxyHops, body, context.traceContext);
    return toHttpResponse(await services.chat.handle(input), (error) => reportUnexpectedError(error, requestId, context));
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "chatCompletions",
  options: { route: "v1/chat/completions", methods: ["POST"], authLevel: "anonymous", handler: chatCompletions },
});
