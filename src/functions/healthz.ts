import { type HttpResponseInit } from "@azure/functions";
import { defineFunction } from "./definition.js";

/** GET /api/healthz: liveness only. No auth, no dependencies, nothing about configuration. */
export async function healthz(): Promise<HttpResponseInit> {
  return { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, jsonBody: { status: "ok" } };
}

export const definition = defineFunction({
  kind: "http",
  name: "healthz",
  options: { route: "healthz", methods: ["GET"], authLevel: "anonymous", handler: healthz },
});
