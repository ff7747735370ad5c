import { type AuditEventFactory, actorOf } from "../audit/AuditEventFactory.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type Authenticator } from "../auth/Authenticator.js";
import { type Principal } from "../auth/Principal.js";
import { PalisadeError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type Policy, type ProjectPolicy } from "../policy/schema.js";

/**
 * OpenAI and Azure OpenAI API families Palisade does not govern. Files and batches are how budgets get
 * bypassed in other gateways (a batch is priced and run out of sight); the others carry content
 * Palisade cannot inspect or state it cannot account for.
 */
const UNGOVERNED_FAMILIES = new Set([
  "files",
  "uploads",
  "batches",
  "assistants",
  "threads",
  "vector_stores",
  "images",
  "audio",
  "realtime",
  "fine_tuning",
  "fine-tunes",
  "completions",
  "moderations",
  "evals",
  "containers",
  "conversations",
  "chatkit",
  "graders",
  "responses",
  "deployments",
]);

export interface UngovernedRequest {
  readonly requestId: string;
  readonly method: string;
  /** The path under the route prefix, e.g. `/api/v1/files` or `/api/openai/deployments/d/images/generations`. */
  readonly path: string;
  readonly authorization: string | null;
  readonly apiKey: string | null;
}

export interface UngovernedEndpointsDeps {
  readonly policy: Policy;
  readonly authenticator: Authenticator;
  readonly events: AuditEventFactory;
  readonly auditPublisherFor: (project: ProjectPolicy | null) => AuditPublisher;
  readonly logger: Logger;
}

/**
 * Everything under `/v1` and `/openai` that is not a governed route: refused with an OpenAI-shaped
 * error that says Palisade does not govern it, and recorded (a `policy_violation` event with reason
 * `endpoint_not_governed`, on the caller's project chain when its key says which, else the system
 * chain). The caller is identified when it can be, never required to be: the refusal is the same.
 */
export class UngovernedEndpoints {
  constructor(private readonly deps: UngovernedEndpointsDeps) {}

  async refuse(request: UngovernedRequest): Promise<PalisadeError> {
    const family = familyOf(request.path);
    const known = family !== "unknown";
    const error = known
      ? new PalisadeError(
          403,
          "permission_error",
          "endpoint_not_governed",
          `Palisade does not govern ${request.method} ${family} requests, so it refuses them: they would escape its DLP, budgets and audit trail. Governed: POST /v1/chat/completions, /v1/embeddings, /v1/responses, /v1/responses/compact, /v1/responses/input_tokens, the calls on a stored Response under /v1/responses/{id}, GET /v1/models (and their Azure OpenAI routes). Call ${family} elsewhere only if your organisation allows it.`,
        )
      : new PalisadeError(404, "not_found_error", "not_found", `Palisade does not serve ${request.method} ${request.path}. It serves POST /v1/chat/completions, /v1/embeddings, /v1/responses, /v1/responses/compact, /v1/responses/input_tokens, the calls on a stored Response under /v1/responses/{id} and GET /v1/models (and their Azure OpenAI routes).`);
    const principal = await this.identify(request);
    const project = principal?.kind === "service-account" ? (this.deps.policy.projects.find((candidate) => candidate.id === principal.project) ?? null) : null;
    const event = this.deps.events.create({
      type: "policy_violation",
      status: "blocked",
      httpStatus: error.status,
      ...(project ? { project: project.id, environment: project.environment } : {}),
      actor: actorOf(principal),
      requestId: request.requestId,
      reason: error.code,
      details: { method: request.method, endpoint: family },
    });
    try {
      await this.deps.auditPublisherFor(project).publish([event]);
    } catch {
      // Nothing was served, so the refusal stands; the lost event is logged (ids only).
      this.deps.logger.error("audit event for a refused ungoverned endpoint could not be published", { requestId: request.requestId, eventId: event.eventId });
    }
    return error;
  }

  private async identify(request: UngovernedRequest): Promise<Principal | null> {
    if (request.authorization === null && request.apiKey === null) return null;
    try {
      return await this.deps.authenticator.authenticate(request.authorization, request.apiKey);
    } catch {
      return null;
    }
  }
}

/** The API family a path belongs to (`files`, `batches`, ...): a name from a fixed list, never caller text. */
export function familyOf(path: string): string {
  const segments = path.split("/").filter((segment) => segment !== "");
  // /api/v1/<family>, /api/openai/<family>, /api/openai/v1/<family>, /api/openai/deployments/<d>/<family>
  const rest = segments[0] === "api" ? segments.slice(1) : segments;
  let at = rest[0] === "openai" ? 1 : 0;
  if (rest[at] === "v1") at += 1;
  if (rest[0] === "openai" && rest[at] === "deployments" && rest.length > at + 2) at += 2;
  const family = (rest[at] ?? "").toLowerCase();
  return UNGOVERNED_FAMILIES.has(family) ? family : "unknown";
}
