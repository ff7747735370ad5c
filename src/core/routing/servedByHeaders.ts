import { type EndpointPolicy } from "../policy/schema.js";

export const REGION_HEADER = "x-palisade-region";
export const ENDPOINT_CLASS_HEADER = "x-palisade-endpoint-class";

/** The response headers that say where a request was served. */
export function servedByHeaders(endpoint: Pick<EndpointPolicy, "region" | "class">): Record<string, string> {
  return { [REGION_HEADER]: endpoint.region, [ENDPOINT_CLASS_HEADER]: endpoint.class };
}
