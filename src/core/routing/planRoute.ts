import { PalisadeError } from "../errors.js";
import { type DataClass, type EndpointClass, type EndpointPolicy, type Policy, type ProjectPolicy, type Residency } from "../policy/schema.js";
import { type OperationKind, endpointServes } from "../policy/operationsPolicy.js";
import { type EndpointHealth } from "./EndpointHealth.js";
import { endpointSatisfiesResidency, resolveResidency } from "./residency.js";

export interface PlanRouteInput {
  readonly policy: Policy;
  readonly project: ProjectPolicy;
  /** The model name the caller sent (`model` in the body). */
  readonly model: string;
  /** The request's class after `classify`. */
  readonly dataClass: DataClass;
  /** From `x-palisade-residency`; may narrow the project's residency, never widen it. */
  readonly requestedResidency?: Residency | undefined;
  /** The operation the endpoint must serve (its `operations`); unset: chat. */
  readonly operation?: OperationKind | undefined;
}

export interface RoutePlan {
  /** Compliant endpoints only, best first: available now, then priority (low first), then latency. */
  readonly candidates: readonly EndpointPolicy[];
  readonly model: string;
  /** The upstream deployment the model maps to for this project. */
  readonly deployment: string;
  /** The residency the request must be served in (the project's, or narrower). */
  readonly residency: Residency;
  readonly dataClass: DataClass;
  readonly allowedClasses: readonly EndpointClass[];
}

/** Whether `endpoint` may serve a request of this class, residency and deployment. The one compliance rule. */
export function isCompliantEndpoint(
  endpoint: EndpointPolicy,
  rule: { readonly allowedClasses: readonly EndpointClass[]; readonly residency: Residency; readonly deployment: string; readonly operation?: OperationKind | undefined },
): boolean {
  return (
    rule.allowedClasses.includes(endpoint.class) &&
    endpointSatisfiesResidency(endpoint.residency, rule.residency) &&
    endpoint.deployments.includes(rule.deployment) &&
    endpointServes(endpoint, rule.operation ?? "chat")
  );
}

/**
 * The endpoints that may serve this request, best first. Throws 400 `invalid_request` for a residency
 * wider than the project's, 403 `model_not_allowed` for a model the project does not have, and 503
 * `no_compliant_endpoint` when no endpoint is compliant at all. Health never adds an endpoint, it only
 * orders them; `executeWithFailover` skips the ones that are unavailable at the time of each attempt.
 */
export function planRoute(input: PlanRouteInput, health: EndpointHealth): RoutePlan {
  const { policy, project, model, dataClass } = input;
  const mapping = project.models.find((candidate) => candidate.name === model);
  if (mapping === undefined) {
    throw new PalisadeError(403, "permission_error", "model_not_allowed", `Model "${model}" is not enabled for this project; use one of the project's models.`, {
      param: "model",
    });
  }
  const residency = resolveResidency(project.residency, input.requestedResidency);
  const allowedClasses = policy.routing.allowedClasses[dataClass];
  const rule = { allowedClasses, residency, deployment: mapping.deployment, operation: input.operation };

  const compliant = policy.endpoints
    .map((endpoint, index) => ({ endpoint, index }))
    .filter(({ endpoint }) => isCompliantEndpoint(endpoint, rule));
  if (compliant.length === 0) throw noCompliantEndpoint({ residency, dataClass, model, allowedClasses });

  const ranked = compliant.map(({ endpoint, index }) => ({
    endpoint,
    index,
    available: health.isAvailable(endpoint.id),
    // Unmeasured endpoints rank as fastest, so each one gets tried and measured.
    latency: health.latencyInMs(endpoint.id) ?? 0,
  }));
  ranked.sort((a, b) => Number(b.available) - Number(a.available) || a.endpoint.priority - b.endpoint.priority || a.latency - b.latency || a.index - b.index);

  return { candidates: ranked.map(({ endpoint }) => endpoint), model, deployment: mapping.deployment, residency, dataClass, allowedClasses };
}

/**
 * 503 `no_compliant_endpoint`. The message names what could not be served (residency, class, model and the
 * endpoint classes the class needs) and nothing about other endpoints or projects.
 */
export function noCompliantEndpoint(
  plan: Pick<RoutePlan, "residency" | "dataClass" | "model" | "allowedClasses">,
  options: { readonly reason?: "none_configured" | "none_available" | "all_failed"; readonly lastFailure?: string; readonly retryAfterInMs?: number | null } = {},
): PalisadeError {
  const needs = `an endpoint of class ${plan.allowedClasses.join(" or ")} in residency "${plan.residency}" that serves model "${plan.model}"`;
  const message =
    options.reason === "all_failed"
      ? `No compliant endpoint could serve data class "${plan.dataClass}" in residency "${plan.residency}" (model "${plan.model}"): every ${needs.replace(/^an /, "")} was tried and failed (last: ${options.lastFailure ?? "unknown"}). Retry later; Palisade never sends the request elsewhere.`
      : options.reason === "none_available"
      ? `No compliant endpoint is available for data class "${plan.dataClass}" in residency "${plan.residency}" (model "${plan.model}"): every ${needs.replace(/^an /, "")} is unhealthy or rate limited. Retry later; Palisade never sends the request elsewhere.`
      : `No endpoint may serve data class "${plan.dataClass}" in residency "${plan.residency}" for model "${plan.model}": it needs ${needs}. Ask the project's operator to configure one.`;
  const retryAfterInMs = options.retryAfterInMs ?? null;
  return new PalisadeError(503, "service_unavailable_error", "no_compliant_endpoint", message, {
    headers: retryAfterInMs !== null && retryAfterInMs > 0 ? { "retry-after": String(Math.ceil(retryAfterInMs / 1000)) } : {},
  });
}

/**
 * The plan narrowed to the one endpoint that keeps what the request reads (a stored Response): no
 * failover elsewhere, since no other endpoint has it. 503 when that endpoint is not among the
 * compliant ones (gone from the policy, or not allowed this class or residency).
 */
export function pinRoute(plan: RoutePlan, endpointId: string): RoutePlan {
  const candidates = plan.candidates.filter((endpoint) => endpoint.id === endpointId);
  if (candidates.length === 0) {
    throw new PalisadeError(
      503,
      "service_unavailable_error",
      "no_compliant_endpoint",
      `The endpoint that keeps this Response may not serve data class "${plan.dataClass}" in residency "${plan.residency}" for model "${plan.model}", or is no longer in the policy, so it cannot be reached through Palisade. Ask the project's operator.`,
    );
  }
  return { ...plan, candidates };
}
