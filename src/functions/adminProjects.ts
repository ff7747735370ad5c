import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** GET /api/manage/projects: the projects the caller is owner or admin of. */
export async function listAdministeredProjects(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    return adminJson(200, await admin.listProjects(adminCallerOf(request, requestId)), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "listAdministeredProjects",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects`, methods: ["GET"], authLevel: "anonymous", handler: listAdministeredProjects },
});
