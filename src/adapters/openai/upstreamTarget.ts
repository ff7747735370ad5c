import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type StoredResponseAction, type StoredResponseCall } from "../../core/upstream/ResponsesProvider.js";

/** Where one operation of one deployment is POSTed: parsed once, reused by every call. */
export interface UpstreamTarget {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: string;
  /** Path and query. */
  readonly path: string;
}

export type UpstreamOperation = "chat" | "embeddings" | "responses" | "responses.compact" | "responses.input_tokens";

const OPERATION_PATHS: Readonly<Record<UpstreamOperation, string>> = {
  chat: "/chat/completions",
  embeddings: "/embeddings",
  responses: "/responses",
  "responses.compact": "/responses/compact",
  "responses.input_tokens": "/responses/input_tokens",
};

/**
 * The URL the openai SDK built for each operation:
 * - the OpenAI platform: `{baseUrl}/chat/completions` (the policy's base URL includes `/v1`);
 * - Azure, chat and embeddings: the deployment routes, `{baseUrl}/openai/deployments/{deployment}/...?api-version=`;
 * - Azure, the Responses API: only the v1 API has it, `{baseUrl}/openai/v1/responses` (no dated api-version), and
 *   so `/openai/v1/responses/compact` and `/openai/v1/responses/input_tokens`.
 */
export function upstreamUrlOf(endpoint: EndpointPolicy, deployment: string, operation: UpstreamOperation): string {
  const base = endpoint.baseUrl.replace(/\/+$/, "");
  const path = OPERATION_PATHS[operation];
  if (endpoint.provider === "openai") return `${base}${path}`;
  if (operation.startsWith("responses")) return `${base}/openai/v1${path}`;
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}${path}?api-version=${encodeURIComponent(endpoint.apiVersion)}`;
}

const STORED_RESPONSE_ROUTES: Readonly<Record<StoredResponseAction, { readonly method: "GET" | "DELETE" | "POST"; readonly suffix: string }>> = {
  retrieve: { method: "GET", suffix: "" },
  delete: { method: "DELETE", suffix: "" },
  cancel: { method: "POST", suffix: "/cancel" },
  input_items: { method: "GET", suffix: "/input_items" },
};

/**
 * The method and URL of a call on a stored Response: `{responses URL}/{id}[/cancel|/input_items]?query`,
 * under the same base as the Responses API (Azure: the v1 API, which keeps stored Responses per resource).
 */
export function storedResponseRequestOf(endpoint: EndpointPolicy, call: StoredResponseCall): { readonly method: "GET" | "DELETE" | "POST"; readonly url: string } {
  const route = STORED_RESPONSE_ROUTES[call.action];
  const query = new URLSearchParams(call.query.map(([key, value]): [string, string] => [key, value])).toString();
  const url = `${upstreamUrlOf(endpoint, "", "responses")}/${encodeURIComponent(call.responseId)}${route.suffix}${query === "" ? "" : `?${query}`}`;
  return { method: route.method, url };
}

/** Parses the URL above; only http and https are called. */
export function upstreamTargetOf(url: string): UpstreamTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError(`unsupported protocol ${parsed.protocol}`);
  return {
    secure: parsed.protocol === "https:",
    hostname: parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname,
    port: parsed.port,
    path: `${parsed.pathname}${parsed.search}`,
  };
}
