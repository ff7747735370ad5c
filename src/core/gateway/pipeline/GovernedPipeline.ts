import { type AuditEvent } from "../../audit/AuditEvent.js";
import { AuditEventFactory, promptDigest } from "../../audit/AuditEventFactory.js";
import { RequestAuditEvents } from "../../audit/requestAuditEvents.js";
import { type AuthorizedContext, authorizedModel } from "../../auth/authorize.js";
import { PalisadeError, isPalisadeError } from "../../errors.js";
import { type Reservation } from "../../limits/LimitGuard.js";
import { type DataClass } from "../../policy/schema.js";
import { parseDataClassHeader, parseResidencyHeader } from "../../routing/parseRoutingHeaders.js";
import { operationKindOf } from "../../policy/operationsPolicy.js";
import { type RoutePlan, pinRoute, planRoute } from "../../routing/planRoute.js";
import { subjectOf } from "../../privacy/subjectOf.js";
import { untracedGatewayTelemetry } from "../../telemetry/GatewayTelemetry.js";
import { type CompletionUsage } from "../../upstream/CompletionProvider.js";
import { type GatewayRequest, type GatewayResponse } from "../GatewayRequest.js";
import { authorizeStage, blockedInput, classifyStage, inspectStage, pseudonymousUser, raiseClass } from "./admissionStages.js";
import { withPseudonymousIdentifiers } from "./pseudonymousIdentifiers.js";
import { type InputInspection } from "./inspectInput.js";
import { type ContentField, type Operation } from "./Operation.js";
import { type PipelineDeps } from "./PipelineDeps.js";
import { type Admission, RequestRecorder } from "./RequestRecorder.js";
import { RequestRun } from "./RequestRun.js";
import { cacheKeyOf, cachedResponse } from "./responseCacheStage.js";
import { isContentFilteredError } from "../../safety/safetyErrors.js";
import { cacheHitResponse } from "./cacheHitResponse.js";
import { plainResponse } from "./plainResponse.js";
import { streamedResponse } from "./streamedResponse.js";
import { upstreamDetails } from "./upstreamRefusal.js";

/** Most settlements cross no budget threshold: one empty list for all of them (read, never changed). */
const NO_EVENTS: readonly AuditEvent[] = Object.freeze([]);

/** Everything decided before the upstream call; the plain and streamed paths start from it. */
export interface Admitted<T> {
  readonly run: RequestRun;
  readonly operation: Operation<T>;
  readonly context: AuthorizedContext;
  readonly inspection: InputInspection<T>;
  readonly dataClass: DataClass;
  readonly plan: RoutePlan;
  readonly body: Readonly<Record<string, unknown>>;
  /** Output tokens reserved: the cap sent upstream times the answers asked for. */
  readonly reservedOutputTokens: number;
  readonly reservation: Reservation;
  readonly admission: Admission;
  /** The input-token estimate (counted once, if at all). */
  readonly inputTokens: () => number;
}

/**
 * The one governed pipeline every operation runs: authenticate, parse, authorize, inspect, classify,
 * checks (content safety), route, cache, limit, admit (audit), call, inspect the output, record,
 * respond. Every decision — success or refusal — becomes an audit event built in src/core/audit.
 */
export class GovernedPipeline {
  readonly events: RequestAuditEvents;
  readonly recorder: RequestRecorder;

  constructor(readonly deps: PipelineDeps) {
    this.events = new RequestAuditEvents(new AuditEventFactory({ clock: deps.clock, newEventId: deps.newEventId, policyVersion: deps.policyVersion }));
    this.recorder = new RequestRecorder(deps);
  }

  async handle<T>(operation: Operation<T>, input: GatewayRequest): Promise<GatewayResponse> {
    const telemetry = (this.deps.telemetry ?? untracedGatewayTelemetry).startRequest(input.traceparent);
    const run = new RequestRun(input, operation.name, telemetry, this.deps.clock.nowInMs(), this.deps.policy);
    try {
      const response = await this.govern(operation, run);
      // A stream's span ends with the stream.
      if (response.kind === "json") telemetry.end(run.summary(response.status));
      return response;
    } catch (error) {
      await this.recordRefusal(run, error);
      telemetry.end(run.summary(isPalisadeError(error) ? error.status : 500, error));
      throw error;
    }
  }

  private async govern<T>(operation: Operation<T>, run: RequestRun): Promise<GatewayResponse> {
    const { deps } = this;
    const { input, telemetry } = run;
    const principal = await telemetry.stage("authenticate", () => deps.authenticator.authenticate(input.authorization, input.apiKey));
    run.note({ principal });

    let request = operation.parse(input.body);
    // An operation on something kept upstream names its model once located (below).
    if (!operation.locate) run.note({ model: operation.model(request) });
    const subjectId = subjectOf({ "x-palisade-subject": input.subjectHeader }, operation.endUser(request));
    if (subjectId !== null && deps.subjects) run.note({ subject: (await deps.subjects.protect(subjectId)).value });

    let context = telemetry.stageSync("authorize", () => authorizeStage(operation, request, principal, deps.policy, input));
    // Something kept upstream (a stored Response) is found for the project first: 404 if not its own; then its model is authorised.
    let pinnedEndpoint: string | undefined;
    const locating = operation.locate?.(request, context.project);
    if (locating) {
      const authorized = context;
      // A refusal goes to the project's chain through its own publisher.
      run.note({ project: authorized.project });
      const located = await telemetry.stage("authorize", () => locating);
      request = located.request;
      pinnedEndpoint = located.endpointId;
      run.note({ model: operation.model(request) });
      context = { ...authorized, model: authorizedModel(authorized.project, operation.model(request)) };
    }
    // An Azure deployment path that named a model by its deployment: the request goes on with the model's name.
    const resolvedModel = context.model?.name;
    if (resolvedModel !== undefined && resolvedModel !== operation.model(request)) {
      request = operation.parse({ ...(input.body as Record<string, unknown>), model: resolvedModel });
      run.note({ model: resolvedModel });
    }
    const project = context.project;
    run.note({ project, deployment: context.model?.deployment, allowedModel: context.model?.name });
    // Before anything is inspected or reserved: another project's stored Response is not even confirmed to exist.
    const continuation = operation.checkContinuation?.(request, project);
    if (continuation) await telemetry.stage("authorize", () => continuation);

    const declared = parseDataClassHeader(input.dataClassHeader);
    const { inspection, classified } = telemetry.stageSync("inspect", () => {
      const inspected = inspectStage(operation, request, project, declared, deps.clock);
      run.note({ inspection: { counts: inspected.counts, findingCount: inspected.findingCount, action: inspected.action } });
      const blocked = blockedInput(inspected);
      if (blocked) throw blocked;
      return { inspection: inspected, classified: classifyStage(inspected, project, declared) };
    });
    // The fields of what goes upstream, listed at most once: those already listed for the scan unless
    // redactions changed the request (then only if a check or the digest reads them).
    let upstream: readonly ContentField[] | undefined;
    const upstreamContents = (): readonly ContentField[] => (upstream ??= inspection.request === request ? inspection.receivedContents : operation.contents(inspection.request));
    let dataClass = classified;
    run.note({ dataClass });
    // Parts let through unread (policy allowed them) are counted on every event of the request.
    if (inspection.uninspectable > 0) run.note({ checkDetails: { ...run.facts.checkDetails, uninspectableParts: inspection.uninspectable } });
    for (const check of deps.checks ?? []) {
      const checkInput = {
        operation: operation.name,
        requestId: input.requestId,
        project,
        dataClass,
        get contents(): readonly ContentField[] {
          return upstreamContents();
        },
      };
      const verdict = check.applies?.(project, dataClass) === false ? undefined : await telemetry.stage(check.name === "content_safety" ? "content_safety" : "inspect", () => check.check(checkInput));
      dataClass = raiseClass(dataClass, verdict?.raiseClassTo);
      run.note({ dataClass });
      if (verdict?.auditDetails) run.note({ checkDetails: { ...run.facts.checkDetails, ...verdict.auditDetails } });
      if (verdict?.outcome !== undefined) run.note({ contentSafety: verdict.outcome });
    }

    const requestedResidency = parseResidencyHeader(input.residencyHeader);
    const plan = telemetry.stageSync("route", () => {
      const planned = planRoute({ policy: deps.policy, project, model: operation.model(request), dataClass, requestedResidency, operation: operationKindOf(operation.name) }, deps.health);
      return pinnedEndpoint === undefined ? planned : pinRoute(planned, pinnedEndpoint);
    });
    run.note({ deployment: plan.deployment });
    const outputCap = operation.outputCap(inspection.request, project);
    const reservedOutputTokens = outputCap * (operation.answersPerRequest?.(inspection.request) ?? 1);
    const body = withPseudonymousIdentifiers(
      operation.upstreamBody(inspection.request, { outputCap, user: pseudonymousUser(deps.digestKey, project, operation.endUser(request)), project, dataClass }),
      (value) => pseudonymousUser(deps.digestKey, project, value),
    );
    if (deps.digestKey) run.note({ contentDigest: promptDigest(deps.digestKey, upstreamContents().map((field) => field.text)) });

    const streamed = operation.isStreamed(request);
    if (streamed && !operation.streaming) throw new PalisadeError(400, "invalid_request_error", "invalid_request", `${operation.name} cannot be streamed; send it without stream.`, { param: "stream" });
    const cacheKey = !streamed && operation.cacheable ? cacheKeyOf(deps, project, dataClass, inspection.findingCount, plan.deployment, body, operation.name) : null;
    if (cacheKey) {
      const hit = await telemetry.stage("cache", () => cachedResponse(deps, cacheKey));
      if (hit) return cacheHitResponse(this, run, project, dataClass, hit);
      run.cache = "miss";
    }

    let estimatedInput: number | undefined;
    const inputTokens = (): number => (estimatedInput ??= operation.estimateInputTokens(inspection.request, upstreamContents()));
    const reservation = await telemetry.stage("limit", () =>
      deps.limits.reserve({
        project,
        serviceAccount: context.serviceAccount,
        keyId: principal.kind === "service-account" ? principal.keyId : null,
        model: operation.model(request),
        deployment: plan.deployment,
        estimatedPromptTokens: inputTokens,
        maxOutputTokens: reservedOutputTokens,
        operation: operationKindOf(operation.name),
      }),
    );

    // Limits that could not be checked (store unreachable, project fails open): every event of the request says so.
    const limitsEnforced = !reservation.tracked || reservation.counted;
    if (!limitsEnforced) run.note({ checkDetails: { ...run.facts.checkDetails, limitsEnforced } });
    // The decision is recorded before (fail_closed) or while (outbox) the upstream is called.
    const admissionEvent = this.events.admitted(run.auditContext(), { candidates: plan.candidates.map((endpoint) => endpoint.id), reservedTokens: reservation.reservedTokens, streamed, limitsEnforced });
    const admission = await this.recorder.admit(telemetry, project, admissionEvent).catch(async (error: unknown) => {
      await deps.limits.release(reservation);
      throw error;
    });
    run.admissionEventId = admission.eventId;
    const admitted: Admitted<T> = { run, operation, context, inspection, dataClass, plan, body, reservedOutputTokens, reservation, admission, inputTokens };
    if (streamed) return streamedResponse(this, admitted, request);
    return plainResponse(this, admitted, cacheKey);
  }

  /**
   * Settles the reservation on the real usage; without usage (the upstream reported none, or the call
   * was cut short), at the reservation's size: the safe side for budgets.
   */
  async settle<T>(run: RequestRun, admitted: Admitted<T>, usage: CompletionUsage | null, estimatedOutputTokens?: number) {
    const { reservation, reservedOutputTokens, context } = admitted;
    const tokens = usage
      ? { inputTokens: usage.promptTokens, cachedInputTokens: usage.cachedPromptTokens, outputTokens: usage.completionTokens }
      : { inputTokens: admitted.inputTokens(), outputTokens: estimatedOutputTokens ?? reservedOutputTokens };
    const result = await run.telemetry.stage("settle", () => this.deps.limits.settle(reservation, tokens));
    const warnings = result.warnings;
    return { costUsd: result.costUsd, tokens, warningEvents: warnings.length === 0 ? NO_EVENTS : warnings.map((warning) => this.events.budgetWarning(context.project, warning)) };
  }

  /** A new headers object the caller may add to: request id, rate limits, class and redactions, in that order. */
  commonHeaders(input: GatewayRequest, rateLimitHeaders: Readonly<Record<string, string>>, dataClass: DataClass, redactions: number): Record<string, string> {
    const headers: Record<string, string> = { "x-request-id": input.requestId };
    Object.assign(headers, rateLimitHeaders);
    headers["x-palisade-classification"] = dataClass;
    headers["x-palisade-redactions"] = String(redactions);
    return headers;
  }

  /**
   * One event for a refused or failed request, typed by why it stopped. After an upstream call it
   * names the endpoint and the upstream's code; when the outcome could not be confirmed durable, it
   * supersedes that outcome, so the chain never says success for a request the caller saw fail.
   */
  private async recordRefusal(run: RequestRun, error: unknown): Promise<void> {
    if (run.recorded) return;
    const known = isPalisadeError(error) ? error : null;
    if (!known) this.deps.logger.error("request failed unexpectedly", { requestId: run.input.requestId, error: error instanceof Error ? error.name : "unknown" });
    // A content-safety refusal (Palisade's or the upstream's own filter) is recorded as what it is, with its names and severities.
    const filtered = isContentFilteredError(error) ? error : null;
    const failure = { status: known?.status ?? 500, code: known?.code ?? "internal_error", ...(filtered ? { type: filtered.auditType } : {}) };
    if (filtered) run.note({ contentSafety: "block" });
    const served = run.served;
    const details: Record<string, string | number | boolean | null> = { ...upstreamDetails(error), ...filtered?.auditDetails };
    if (run.admissionEventId !== undefined) details.admissionEventId = run.admissionEventId;
    if (run.unconfirmedOutcomeId !== undefined) details.supersedes = run.unconfirmedOutcomeId;
    if (served) Object.assign(details, { endpointId: served.endpoint.id, attempts: served.attempts });
    const event = this.events.refusal(run.auditContext(), { failure, latencyInMs: this.deps.clock.nowInMs() - run.startedAtInMs, details });
    const recorded = await this.recorder.publishBestEffort(run.telemetry, run.facts.project, [...run.pending.splice(0), event]);
    if (!recorded) this.deps.logger.error("audit event for a refused request could not be published", { requestId: run.input.requestId, reason: failure.code, eventId: event.eventId });
  }
}

