import { type AuditActor, type AuditEvent } from "../../audit/AuditEvent.js";
import { actorOf } from "../../audit/AuditEventFactory.js";
import { type RequestAuditContext } from "../../audit/requestAuditEvents.js";
import { type Principal } from "../../auth/Principal.js";
import { type DataClass, type DlpAction, type EndpointPolicy, type Policy, type ProjectPolicy } from "../../policy/schema.js";
import { type RequestSummary, type RequestTelemetry } from "../../telemetry/GatewayTelemetry.js";
import { type CompletionUsage } from "../../upstream/CompletionProvider.js";
import { type GatewayRequest } from "../GatewayRequest.js";
import { type FindingCounts } from "./OutputScanner.js";

/** What the stages have established about a request; each stage's result is folded in as it comes. */
export interface RequestFacts {
  readonly principal: Principal | null;
  readonly project: ProjectPolicy | null;
  /** As the caller sent it (audit only). */
  readonly model?: string;
  /** As authorization allowlisted it: the only form telemetry may carry. */
  readonly allowedModel?: string;
  readonly deployment?: string;
  readonly dataClass?: DataClass;
  readonly inspection?: { readonly counts: FindingCounts; readonly findingCount: number; readonly action: DlpAction };
  readonly subject?: string;
  readonly contentDigest?: string;
  /** What the input checks asked to record (content safety's flags and fail-open passes). */
  readonly checkDetails?: Readonly<Record<string, string | number | boolean | null>>;
  /** Content safety's outcome, for telemetry. */
  readonly contentSafety?: string;
}

/** What the upstream (or the cache) did, for telemetry. */
export interface ServedFacts {
  readonly endpoint: EndpointPolicy;
  readonly attempts: number;
  readonly responseModel?: unknown;
  readonly usage?: CompletionUsage | null;
  readonly costUsd?: number;
  readonly outputCounts?: FindingCounts;
}

/**
 * One request on its way through the pipeline: the facts so far (read-only outside `note`),
 * the events that wait for its outcome (failovers), and what was recorded. Its refusal, outcome and
 * telemetry summary are all read from here, so every path tells the same story.
 */
export class RequestRun {
  facts: RequestFacts = { principal: null, project: null };
  served: ServedFacts | undefined;
  cache: "hit" | "miss" | undefined;
  streamed = false;
  /** Failovers, published with the outcome. */
  readonly pending: AuditEvent[] = [];
  admissionEventId: string | undefined;
  /** The outcome event that could not be confirmed durable (a later refusal supersedes it). */
  unconfirmedOutcomeId: string | undefined;
  /** The request's own outcome is in the trail: a later failure is not recorded again. */
  recorded = false;
  #actor: AuditActor | undefined;
  #actorOf: Principal | null = null;

  constructor(
    readonly input: GatewayRequest,
    readonly operation: string,
    readonly telemetry: RequestTelemetry,
    readonly startedAtInMs: number,
    private readonly policy: Policy,
  ) {}

  /** Folds a stage's result into the facts, in place: nothing keeps an earlier snapshot of them. */
  note(next: Partial<RequestFacts>): void {
    Object.assign(this.facts, next);
  }

  auditContext(): RequestAuditContext {
    const { facts } = this;
    const found = facts.inspection !== undefined && facts.inspection.findingCount > 0;
    // One literal (absent facts are undefined, which every event builder reads as absent).
    return {
      requestId: this.input.requestId,
      traceId: this.telemetry.traceId,
      operation: this.operation,
      actor: this.actor(),
      project: facts.project?.id ?? this.chainForRefusal(),
      environment: facts.project?.environment,
      model: facts.model,
      deployment: facts.deployment,
      classification: facts.dataClass,
      subject: facts.subject,
      inputFindings: found ? facts.inspection?.counts : undefined,
      dlpAction: found ? facts.inspection?.action : undefined,
      contentDigest: facts.contentDigest,
      checkDetails: facts.checkDetails,
    };
  }

  /** The events' actor: one object per principal, shared by the request's events (plain data, never changed). */
  private actor(): AuditActor {
    const principal = this.facts.principal;
    if (this.#actor === undefined || this.#actorOf !== principal) {
      this.#actor = actorOf(principal);
      this.#actorOf = principal;
    }
    return this.#actor;
  }

  /** What telemetry may know of the request: ids, classes, counts and codes (see RequestSummary). */
  summary(status: number, error?: unknown, abandoned?: boolean): RequestSummary {
    const { facts, served } = this;
    return {
      project: facts.project?.id ?? this.chainForRefusal(),
      model: facts.allowedModel,
      dataClass: facts.dataClass,
      inputFindings: facts.inspection?.counts,
      dlpAction: facts.inspection && facts.inspection.findingCount > 0 ? facts.inspection.action : undefined,
      outputFindings: served?.outputCounts,
      outputDlpAction: facts.project?.dlp.output,
      contentSafety: facts.contentSafety,
      endpoint: served?.endpoint,
      responseModel: served?.responseModel,
      usage: served?.usage,
      costUsd: served?.costUsd,
      attempts: served?.attempts,
      cache: this.cache,
      streamed: this.streamed || undefined,
      status,
      error,
      ...(abandoned ? { abandoned: true } : {}),
    };
  }

  /**
   * The chain a refusal belongs to: the project when it is known — from authorization, the key, the
   * project the caller named (if it exists), or a user's only project — else the system chain.
   */
  private chainForRefusal(): string | undefined {
    const principal = this.facts.principal;
    if (principal?.kind === "service-account") return principal.project;
    const projects = new Set(this.policy.projects.map((project) => project.id));
    const requested = this.input.requestedProject;
    if (requested && projects.has(requested)) return requested;
    const memberOf = principal ? Object.keys(principal.roles).filter((id) => projects.has(id)) : [];
    return memberOf.length === 1 ? memberOf[0] : undefined;
  }
}
