import { type EndpointPolicy } from "../policy/schema.js";

export const REGION_HEADER = "x-palisade-region";
export const ENDPOINT_CLASS_HEADER = "x-palisade-endpoint-class";

/** The response headers that say where a request was served. */
export function servedByHeaders(endpoint: Pick<EndpointPolicy, "region" | "class">): Record<string, string> {
  return { [REGION_HEADER]: endpoint.region, [ENDPOINT_CLASS_HEADER]: endpoint.class };
}

/** Adds the same headers to a response's headers being built (no object of their own). */
export function addServedByHeaders(headers: Record<string, string>, endpoint: Pick<EndpointPolicy, "region" | "class">): void {
  headers[REGION_HEADER] = endpoint.region;
  headers[ENDPOINT_CLASS_HEADER] = endpoint.class;
}
