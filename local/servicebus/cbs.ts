import { type Message } from "rhea";
import { verifySasToken, type SasKey } from "./sas.js";

/**
 * `$cbs` put-token: the client proves, per audience (an entity URI), that it holds the shared
 * access key. A good token authorizes the audience's path on this connection until it expires.
 */

export interface CbsResponse {
  readonly statusCode: number;
  readonly description: string;
  readonly errorCondition?: string;
  /** Entity path (lower case, "" for the namespace) the token authorizes. */
  readonly authorizedPath?: string;
  readonly expiresAtMs?: number;
}

/** "sb://host:port/queue/$management" -> "queue/$management"; "" for the namespace. */
function pathOfUri(uri: string): string {
  const scheme = uri.indexOf("://");
  let path = uri;
  if (scheme >= 0) {
    const slash = uri.indexOf("/", scheme + 3);
    path = slash >= 0 ? uri.slice(slash + 1) : "";
  }
  return path.replace(/^\/+|\/+$/g, "").toLowerCase();
}

function unauthorized(description: string): CbsResponse {
  return { statusCode: 401, description, errorCondition: "amqp:unauthorized-access" };
}

export function handleCbsRequest(request: Message, sasKey: SasKey, nowInMs: number): CbsResponse {
  const properties = (request.application_properties ?? {}) as Record<string, unknown>;
  if (properties.operation !== "put-token") {
    return { statusCode: 400, description: "Only the put-token operation is supported.", errorCondition: "amqp:not-implemented" };
  }
  if (properties.type !== "servicebus.windows.net:sastoken") {
    return unauthorized("The emulator accepts only shared access signature tokens (connection strings).");
  }
  const audience = typeof properties.name === "string" ? properties.name : "";
  const token = typeof request.body === "string" ? request.body : "";
  const verdict = verifySasToken(token, sasKey, nowInMs);
  if (!verdict.ok) return unauthorized(`InvalidSignature: ${verdict.reason}. Check the shared access key in the connection string.`);
  const resourcePath = pathOfUri(verdict.resource);
  const audiencePath = pathOfUri(audience);
  if (resourcePath !== "" && audiencePath !== resourcePath && !audiencePath.startsWith(`${resourcePath}/`)) {
    return unauthorized("The token's resource does not cover the requested audience.");
  }
  return { statusCode: 202, description: "Accepted", authorizedPath: audiencePath, expiresAtMs: verdict.expiresAtMs };
}
