import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { failureResponse } from "../adapters/http/errorResponse.js";
import { requestIdFor } from "../adapters/http/gatewayHttp.js";
import { ADMIN_ROUTE_PREFIX, adminCallerOf, adminJson, getAdminService, readAdminBody } from "./adminServices.js";
import { defineFunction } from "./definition.js";

/** GET lists a project's API keys; POST `{ serviceAccount, expiresInDays }` creates one and shows it once. */
export async function projectKeys(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const requestId = requestIdFor(request, () => context.invocationId);
  try {
    const admin = await getAdminService();
    const caller = adminCallerOf(request, requestId);
    const project = request.params.project ?? "";
    if (request.method === "POST") return adminJson(201, await admin.createKey(caller, project, await readAdminBody(request)), requestId);
    return adminJson(200, await admin.listKeys(caller, project), requestId);
  } catch (error) {
    return failureResponse(error, requestId, context);
  }
}

export const definition = defineFunction({
  kind: "http",
  name: "projectKeys",
  options: { route: `${ADMIN_ROUTE_PREFIX}/projects/{project}/keys`, methods: ["GET", "POST"], authLevel: "anonymous", handler: projectKeys },
});
