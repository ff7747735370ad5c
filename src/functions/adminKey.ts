import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** DELETE /api/manage/projects/{project}/keys/{keyId}: revokes the key at once (404 if not in that project). */
export async function revokeProjectKey(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    return adminJson(200, await admin.revokeKey(adminCallerOf(request, requestId), request.params.project ?? "", request.params.keyId ?? ""), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "revokeProjectKey",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects/{project}/keys/{keyId}`, methods: ["DELETE"], authLevel: "anonymous", handler: revokeProjectKey },
});
