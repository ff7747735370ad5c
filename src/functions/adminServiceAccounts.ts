import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** GET /api/manage/projects/{project}/service-accounts: as the policy file declares them. */
export async function listProjectServiceAccounts(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    return adminJson(200, await admin.listServiceAccounts(adminCallerOf(request, requestId), request.params.project ?? ""), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "listProjectServiceAccounts",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects/{project}/service-accounts`, methods: ["GET"], authLevel: "anonymous", handler: listProjectServiceAccounts },
});
