import { invalidRequest } from "../errors.js";
import { type Residency } from "../policy/schema.js";
import { RESIDENCY_HEADER } from "./parseRoutingHeaders.js";

/**
 * The residency a request must be served in. A request may narrow its project's residency, never widen
 * it: a `global` project may ask for eu, us or apac; an eu project may only ask for eu.
 */
export function resolveResidency(projectResidency: Residency, requested: Residency | undefined): Residency {
  if (requested === undefined || requested === projectResidency) return projectResidency;
  if (projectResidency === "global") return requested;
  throw invalidRequest(
    `Header ${RESIDENCY_HEADER} asks for residency "${requested}", but this project's data must stay in "${projectResidency}"; send "${projectResidency}" or omit the header.`,
    RESIDENCY_HEADER,
  );
}

/**
 * Whether an endpoint may process data that must stay in `required`. A regional endpoint keeps data in
 * its region; a `global` endpoint may process data anywhere, so it serves only requests whose residency
 * is `global`. A `global` request may use any endpoint.
 */
export function endpointSatisfiesResidency(endpointResidency: Residency, required: Residency): boolean {
  return required === "global" || endpointResidency === required;
}
