import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { errorResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { PalisadeError } from "../core/errors.js";
import { defineFunction } from "./definition.js";

/** Anything else under /api/v1: an OpenAI-shaped 404, so clients get a readable error, not an HTML page. */
export async function notFound(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  const path = new URL(request.url).pathname;
  return errorResponse(
    new PalisadeError(404, "not_found_error", "not_found", `Palisade does not serve ${request.method} ${path}. It serves POST /api/v1/chat/completions and GET /api/v1/models.`),
    requestId,
  );
}

export const definition = defineFunction({
  kind: "http",
  name: "notFound",
  options: { route: "v1/{*rest}", methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], authLevel: "anonymous", handler: notFound },
});
