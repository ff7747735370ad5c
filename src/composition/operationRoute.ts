import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse, reportUnexpectedError } from "../adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../adapters/http/gatewayHttp.js";
import { readJsonBody } from "../adapters/http/readJsonBody.js";
import { type GatewayRequest } from "../core/gateway/GatewayRequest.js";
import { type Operation } from "../core/gateway/pipeline/Operation.js";
import { type GatewayOperations } from "./gateway.js";
import { appRequestsInFlight } from "./requestsInFlight.js";
import { getAppServices } from "./services.js";

/** Adjusts the gateway request for a front door (an Azure route maps its deployment to a model, say). */
export type FrontDoor = (input: GatewayRequest, request: HttpRequest) => GatewayRequest;

export interface OperationRouteOptions {
  /** False for routes whose request is all in the path and query (a stored Response's): no body is read, whatever was sent. */
  readonly readsBody?: boolean;
}

/**
 * The handler of a route that maps HTTP to one operation: read the body (bounded), pick the headers,
 * run the governed pipeline, map its answer (JSON or SSE) or its error (OpenAI's shape). Function
 * files stay one line: `handler: operationRoute((operations) => operations.chat)`.
 */
export function operationRoute<T>(
  select: (operations: GatewayOperations) => Operation<T>,
  frontDoor?: FrontDoor,
  options: OperationRouteOptions = {},
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  // Counted while in flight: the audit append and its checkpoint run their slices between requests (requestsInFlight.ts).
  return (request, context) => appRequestsInFlight.track(() => handle(request, context));
  async function handle(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    const requestId = requestIdFor(request, () => context.invocationId);
    try {
      const services = await getAppServices();
      const body = options.readsBody === false ? null : await readJsonBody(request, services.policy.policy.limits.maxBodyBytes);
      // The invocation's trace context (the host's span for this call) parents the request's spans.
      const input = gatewayRequestOf(request, requestId, services.policy.policy.network.trustedProxyHops, body, context.traceContext);
      const operation = select(services.gateway.operations);
      return toHttpResponse(await services.gateway.pipeline.handle(operation, frontDoor ? frontDoor(input, request) : input), (error) =>
        reportUnexpectedError(error, requestId, context),
      );
    } catch (error) {
      return failureResponse(error, requestId, context);
    }
  }
}
