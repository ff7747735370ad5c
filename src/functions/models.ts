import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../adapters/http/gatewayHttp.js";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/** GET /api/v1/models: the models this caller may use, in OpenAI's list shape. */
export async function models(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const services = await getAppServices();
    return toHttpResponse(await services.models.list(gatewayRequestOf(request, requestId, services.policy.policy.network.trustedProxyHops, null)));
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "models",
  options: { route: "v1/models", methods: ["GET"], authLevel: "anonymous", handler: models },
});
