import { type Message } from "rhea";
import { entityPathOf } from "./entityPath.js";
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
  const resourcePath = entityPathOf(verdict.resource);
  const audiencePath = entityPathOf(audience);
  if (resourcePath !== "" && audiencePath !== resourcePath && !audiencePath.startsWith(`${resourcePath}/`)) {
    return unauthorized("The token's resource does not cover the requested audience.");
  }
  return { statusCode: 202, description: "Accepted", authorizedPath: audiencePath, expiresAtMs: verdict.expiresAtMs };
}
