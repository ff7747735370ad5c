import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { type Operation } from "../core/gateway/pipeline/Operation.js";
import { type StoredResponseRequest } from "../core/gateway/operations/responses/storedResponseRequest.js";
import { type GatewayOperations } from "./gateway.js";
import { operationRoute } from "./operationRoute.js";
import { storedResponseFromPath } from "./storedResponseFromPath.js";

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
type Select = (operations: GatewayOperations) => Operation<StoredResponseRequest>;

/**
 * A route on a stored Response (`.../responses/{id}[/...]`): each method its own governed operation,
 * the request read from the path and query (no body).
 */
export function storedResponseRoute(byMethod: Readonly<Partial<Record<"GET" | "POST" | "DELETE", Select>>>): Handler {
  const handlers = new Map<string, Handler>(Object.entries(byMethod).map(([method, select]) => [method, operationRoute(select, storedResponseFromPath, { readsBody: false })]));
  return (request, context) => {
    const handler = handlers.get(request.method.toUpperCase());
    // The host routes only the methods the definition lists, each of which has its operation.
    if (handler === undefined) throw new Error(`no operation for ${request.method}`);
    return handler(request, context);
  };
}
