import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { errorResponse, failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { getAppServices } from "../composition/services.js";
import { defineFunction } from "./definition.js";

/**
 * Anything else under /api/v1 (files, batches, assistants, images, audio, ...): refused in OpenAI's
 * shape, saying Palisade does not govern it, and recorded in the audit trail.
 */
export async function notFound(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const services = await getAppServices();
    const path = new URL(request.url).pathname;
    return errorResponse(await services.ungoverned.refuse({ requestId, method: request.method, path, authorization: request.headers.get("authorization"), apiKey: request.headers.get("api-key") }), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "notFound",
  options: { route: "v1/{*rest}", methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], authLevel: "anonymous", handler: notFound },
});
