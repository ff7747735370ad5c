import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** GET /api/manage/projects/{project}/members: the members the policy file declares for the project. */
export async function listProjectMembers(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    return adminJson(200, await admin.listMembers(adminCallerOf(request, requestId), request.params.project ?? ""), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "listProjectMembers",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects/{project}/members`, methods: ["GET"], authLevel: "anonymous", handler: listProjectMembers },
});
