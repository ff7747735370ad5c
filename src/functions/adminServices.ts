import { type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { type AdminCaller } from "../core/admin/AdminService.js";
import { readJsonBody } from "../adapters/http/readJsonBody.js";

/**
 * Wiring and HTTP helpers shared by the admin function files (this file registers no function).
 *
 * The routes live under `manage/`, not `admin/`: the Functions host reserves every route that starts
 * with "admin" for its own management API (whatever the route prefix) and refuses to register such
 * functions at start-up ("The specified route conflicts with one or more built in routes").
 */
export const ADMIN_ROUTE_PREFIX = "manage";

/** Admin bodies are a few fields; anything larger is refused before it is parsed. */
const MAX_ADMIN_BODY_BYTES = 16_384;

export function adminCallerOf(request: HttpRequest, requestId: string): AdminCaller {
  return { authorization: request.headers.get("authorization"), apiKey: request.headers.get("api-key"), requestId };
}

/** Reads an optional JSON body: no body at all is `{}`; anything sent must be JSON within the limit. */
export async function readOptionalAdminBody(request: HttpRequest): Promise<unknown> {
  const declared = request.headers.get("content-length");
  const hasBody = request.headers.get("content-type") !== null || (declared !== null && declared !== "0") || request.headers.get("transfer-encoding") !== null;
  return hasBody ? readJsonBody(request, MAX_ADMIN_BODY_BYTES) : {};
}

export function readAdminBody(request: HttpRequest): Promise<unknown> {
  return readJsonBody(request, MAX_ADMIN_BODY_BYTES);
}

/** Admin answers are JSON and never cached: some carry a key shown once. */
export function adminJson(status: number, body: unknown, requestId: string): HttpResponseInit {
  return { status, headers: { "content-type": "application/json", "cache-control": "no-store", "x-request-id": requestId }, jsonBody: body };
}

export { getAdminService } from "../composition/services.js";
