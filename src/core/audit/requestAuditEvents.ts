import { type AuditActor, type AuditEvent, type AuditEventType } from "./AuditEvent.js";
import { type AuditEventFactory, type AuditEventFields } from "./AuditEventFactory.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
import { type DataClass, type EndpointPolicy } from "../policy/schema.js";

/**
 * What is known about a request when one of its events is built: ids, classes and counts, never
 * content. The request path fills it stage by stage; every event of the request starts from it.
 */
export interface RequestAuditContext {
  readonly requestId: string;
  readonly traceId: string | undefined;
  /** The operation (`chat.completions`, `embeddings`, `responses`). */
  readonly operation: string;
  readonly actor: AuditActor;
  /** The chain: the project when known, else the system chain. */
  readonly project: string | undefined;
  readonly environment?: string | undefined;
  readonly model?: string | undefined;
  readonly deployment?: string | undefined;
  readonly classification?: DataClass | undefined;
  /** The end user, pseudonymised and encrypted. */
  readonly subject?: string | undefined;
  readonly inputFindings?: Readonly<Record<string, number | undefined>> | undefined;
  readonly dlpAction?: string | undefined;
  /** HMAC of the inspected input (as sent upstream). */
  readonly contentDigest?: string | undefined;
  /** What input checks asked every event of the request to record (content safety flags, fail-open passes). */
  readonly checkDetails?: Readonly<Record<string, string | number | boolean | null>> | undefined;
}

export interface UpstreamUsageForAudit {
  readonly promptTokens: number;
  readonly cachedPromptTokens: number;
  readonly completionTokens: number;
}

/** Why a request did not end as served: its status and stable code (never a message). */
export interface RequestFailure {
  readonly status: number;
  readonly code: string;
  /** `blocked` (a policy or the upstream refused) or `error`; by default a 4xx is blocked, anything else an error. */
  readonly kind?: "blocked" | "error";
  /** The event type when the code alone does not say it (a content-filter refusal: prompt attack or filtered content). */
  readonly type?: AuditEventType;
}

const statusOf = (failure: RequestFailure): "blocked" | "error" => failure.kind ?? (failure.status >= 400 && failure.status < 500 ? "blocked" : "error");

export interface CallOutcome {
  readonly endpoint: Pick<EndpointPolicy, "id" | "region" | "class">;
  readonly usage: UpstreamUsageForAudit | null;
  readonly costUsd: number;
  readonly latencyInMs: number;
  readonly outputFindings: Readonly<Record<string, number | undefined>>;
  readonly attempts: number;
  /** Null when the caller was served. */
  readonly failure: RequestFailure | null;
  /** The admission event this outcome completes. */
  readonly admissionEventId?: string | undefined;
  /** Extra metadata (upstream error code, abandonment, cache). */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

type Details = Record<string, string | number | boolean | null>;

/**
 * The audit events of the request path, built in one place: admission, outcome (`api_call`),
 * refusal, failover and budget warnings. Success, refusal, cache and stream paths all use it, so
 * every event of a request carries the same ids, operation, actor and classification.
 */
export class RequestAuditEvents {
  constructor(private readonly factory: AuditEventFactory) {}

  /** Recorded before the upstream call: the decision to call, with what was reserved and where it may go. */
  admitted(
    context: RequestAuditContext,
    admission: { readonly candidates: readonly string[]; readonly reservedTokens: number; readonly streamed: boolean; readonly limitsEnforced?: boolean },
  ): AuditEvent {
    const details: Details = { operation: context.operation, candidates: admission.candidates.join(","), reservedTokens: admission.reservedTokens, streamed: admission.streamed };
    // Only when false: the limits were not checked (store unreachable, project fails open). Auditors look for it.
    if (admission.limitsEnforced === false) details.limitsEnforced = false;
    return this.create(context, { type: "request_admitted", status: "success", details });
  }

  /** The outcome of a request that reached an upstream (or the cache): served, blocked or failed. */
  outcome(context: RequestAuditContext, outcome: CallOutcome): AuditEvent {
    const findings = countsRecord(context.inputFindings ?? {});
    for (const [type, count] of Object.entries(outcome.outputFindings)) findings[`output.${type}`] = count ?? 0;
    const failure = outcome.failure;
    const details: Details = { operation: context.operation, attempts: outcome.attempts, endpointClass: outcome.endpoint.class, ...context.checkDetails, ...outcome.details };
    if (outcome.admissionEventId !== undefined) details.admissionEventId = outcome.admissionEventId;
    return this.create(context, {
      type: failure?.type ?? "api_call",
      status: failure ? statusOf(failure) : "success",
      httpStatus: failure ? failure.status : 200,
      endpointId: outcome.endpoint.id,
      region: outcome.endpoint.region,
      tokens: outcome.usage ? { input: outcome.usage.promptTokens, cachedInput: outcome.usage.cachedPromptTokens, output: outcome.usage.completionTokens } : undefined,
      costUsd: outcome.costUsd,
      latencyInMs: outcome.latencyInMs,
      ...(Object.keys(findings).length > 0 ? { dlpFindings: findings, dlpAction: context.dlpAction } : {}),
      reason: failure?.code,
      contentDigest: context.contentDigest,
      details,
    });
  }

  /** A request refused or failed before (or without) an upstream answer, typed by why it stopped. */
  refusal(context: RequestAuditContext, refusal: { readonly failure: RequestFailure; readonly latencyInMs: number; readonly details?: Readonly<Details> }): AuditEvent {
    const findings = countsRecord(context.inputFindings ?? {});
    return this.create(context, {
      type: refusal.failure.type ?? refusalType(refusal.failure.code),
      status: statusOf(refusal.failure),
      httpStatus: refusal.failure.status,
      latencyInMs: refusal.latencyInMs,
      reason: refusal.failure.code,
      ...(Object.keys(findings).length > 0 ? { dlpFindings: findings, dlpAction: context.dlpAction } : {}),
      details: { operation: context.operation, ...context.checkDetails, ...refusal.details },
    });
  }

  fallback(context: RequestAuditContext, from: EndpointPolicy, to: EndpointPolicy, reason: string, residency: string): AuditEvent {
    return this.create(context, {
      type: "fallback_triggered",
      status: "success",
      reason,
      details: { operation: context.operation, fromEndpoint: from.id, fromRegion: from.region, toEndpoint: to.id, toRegion: to.region, residency },
    });
  }

  /** A budget threshold crossed by a usage write (the limits' system actor, not a request). */
  budgetWarning(project: { readonly id: string; readonly environment: string }, warning: { readonly period: string; readonly fraction: number; readonly spentUsd: number; readonly budgetUsd: number }): AuditEvent {
    return this.factory.create({
      type: "budget_warning",
      status: "success",
      project: project.id,
      environment: project.environment,
      actor: { kind: "system", id: "limits" },
      reason: warning.fraction >= 1 ? "budget_spent" : "budget_threshold",
      details: { period: warning.period, fraction: warning.fraction, spentUsd: warning.spentUsd, budgetUsd: warning.budgetUsd },
    });
  }

  /** `fields` is a literal of the caller's, handed over: the event is built on it, not on a copy. */
  private create(context: RequestAuditContext, fields: Omit<AuditEventFields, "actor" | "project">): AuditEvent {
    const event = fields as Mutable<AuditEventFields>;
    event.project = context.project;
    event.environment = context.environment;
    event.actor = context.actor;
    event.model = context.model;
    event.deployment = context.deployment;
    event.classification = context.classification;
    event.requestId = context.requestId;
    event.traceId = context.traceId;
    if (context.subject !== undefined) event.subject = context.subject;
    return this.factory.stamp(event);
  }
}

/** The event type of a refusal, by its code. */
export function refusalType(code: string): AuditEventType {
  switch (code) {
    case "missing_api_key":
    case "invalid_api_key":
    case "expired_api_key":
    case "revoked_api_key":
    case "invalid_token":
    case "expired_token":
      return "auth_failed";
    case "sensitive_data_detected":
    case "inspection_failed":
    case "uninspectable_content":
      return "pii_detected";
    case "rate_limit_exceeded":
      return "rate_limited";
    case "budget_exceeded":
      return "budget_exceeded";
    case "no_compliant_endpoint":
      return "residency_blocked";
    case "insufficient_role":
    case "not_a_project_member":
    case "missing_permission":
    case "ip_not_allowed":
    case "model_not_allowed":
    case "model_not_priced":
    case "response_storage_not_allowed":
    case "endpoint_not_governed":
    case "tool_not_allowed":
    case "data_source_not_allowed":
    case "response_not_found": // continuing another project's stored Response, or one Palisade has no record of
      return "policy_violation";
    default:
      return "api_call";
  }
}

function countsRecord(counts: Readonly<Record<string, number | undefined>>): Record<string, number> {
  const record: Record<string, number> = {};
  for (const [type, count] of Object.entries(counts)) record[type] = count ?? 0;
  return record;
}
