import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService, readOptionalAdminBody } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** POST /api/manage/credentials/{id}/rotate `{ overlapInSeconds? }`: rotates a managed upstream credential now. */
export async function rotateCredential(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    const body = await readOptionalAdminBody(request);
    return adminJson(200, await admin.rotateCredential(adminCallerOf(request, requestId), request.params.id ?? "", body), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "rotateCredential",
  options: { route: `${ADMIN_ROUTE_PREFIX}/credentials/{id}/rotate`, methods: ["POST"], authLevel: "anonymous", handler: rotateCredential },
});
