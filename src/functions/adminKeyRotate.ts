import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService, readOptionalAdminBody } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** POST /api/manage/projects/{project}/keys/{keyId}/rotate `{ overlapInSeconds?, expiresInDays? }`: the replacement, shown once. */
export async function rotateProjectKey(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    const body = await readOptionalAdminBody(request);
    return adminJson(201, await admin.rotateKey(adminCallerOf(request, requestId), request.params.project ?? "", request.params.keyId ?? "", body), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "rotateProjectKey",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects/{project}/keys/{keyId}/rotate`, methods: ["POST"], authLevel: "anonymous", handler: rotateProjectKey },
});
