import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../adapters/http/gatewayHttp.js";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/** GET /api/v1/models/{id}: one model this caller may use, in OpenAI's shape (`models.retrieve`). */
export async function model(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const services = await getAppServices();
    const input = gatewayRequestOf(request, requestId, services.policy.policy.network.trustedProxyHops, null);
    return toHttpResponse(await services.models.retrieve(input, request.params.id ?? ""));
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "model",
  options: { route: "v1/models/{id}", methods: ["GET"], authLevel: "anonymous", handler: model },
});
