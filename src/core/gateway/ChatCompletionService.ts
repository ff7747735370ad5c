import { type AuditEvent } from "../audit/AuditEvent.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type Authenticator } from "../auth/Authenticator.js";
import { type AuthorizedContext, authorize } from "../auth/authorize.js";
import { type Principal } from "../auth/Principal.js";
import { type CachedResponse, type ResponseCache } from "../cache/ResponseCache.js";
import { cacheKeyFor, isCacheable } from "../cache/cacheKeyFor.js";
import { type Clock } from "../clock.js";
import { PalisadeError, isPalisadeError } from "../errors.js";
import { estimatePromptTokens } from "../limits/estimatePromptTokens.js";
import { type BudgetWarning, type LimitGuard, type Reservation } from "../limits/LimitGuard.js";
import { type Logger } from "../logger.js";
import { type DataClass, type EndpointPolicy, type Policy, type ProjectPolicy } from "../policy/schema.js";
import { classify } from "../routing/classify.js";
import { type EndpointHealth } from "../routing/EndpointHealth.js";
import { executeWithFailover } from "../routing/executeWithFailover.js";
import { parseDataClassHeader, parseResidencyHeader } from "../routing/parseRoutingHeaders.js";
import { type RoutePlan, planRoute } from "../routing/planRoute.js";
import { servedByHeaders } from "../routing/servedByHeaders.js";
import { type GatewayTelemetry, type RequestSummary, type RequestTelemetry, untracedGatewayTelemetry } from "../telemetry/GatewayTelemetry.js";
import { type CompletionChunk, type CompletionProvider, type CompletionUsage, isUpstreamError } from "../upstream/CompletionProvider.js";
import { AuditEventFactory, type AuditEventFields, actorOf, promptDigest } from "./auditEvents.js";
import { type SubjectProtector } from "../privacy/SubjectProtector.js";
import { subjectOf } from "../privacy/subjectOf.js";
import { type ChatCompletionRequest, chatCompletionRequestSchema, requestedMaxTokens, textPartsOf } from "./chatRequest.js";
import { type GatewayRequest, type GatewayResponse } from "./GatewayRequest.js";
import { CompletionStreamInspector, inspectCompletion } from "./inspectCompletion.js";
import { type PromptInspection, inspectPrompt, sensitiveDataDetected } from "./inspectPrompt.js";
import { requestValidationError } from "./requestValidationError.js";
import { ContentSafetyStage, safetyOutcomeOf } from "../safety/ContentSafetyStage.js";
import { type SafetyVerdict, mergeVerdicts } from "../safety/SafetyVerdict.js";
import { safetyAuditDetails } from "../safety/safetyAudit.js";
import { contentSafetyUnavailable, contentFiltered, isContentFilteredError, upstreamContentFiltered } from "../safety/safetyErrors.js";
import { chatSafetyTexts } from "../safety/safetyTexts.js";

export interface ChatCompletionDeps {
  readonly policy: Policy;
  readonly policyVersion: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newEventId: () => string;
  readonly authenticator: Authenticator;
  readonly limits: LimitGuard;
  readonly health: EndpointHealth;
  readonly provider: CompletionProvider;
  /** The publisher for a project: fail-closed, or backed by the durable outbox, per its policy. */
  readonly auditPublisherFor: (project: ProjectPolicy | null) => AuditPublisher;
  readonly cache: { readonly store: ResponseCache; readonly secret: Uint8Array } | null;
  /** HMAC key for prompt digests in audit events; null leaves digests out. */
  readonly digestKey: Uint8Array | null;
  /** Pseudonymises and encrypts end-user ids for audit events (GDPR); null records no subject. */
  readonly subjects?: Pick<SubjectProtector, "protect"> | null;
  /** Traces and metrics of each request; absent, nothing is recorded (the caller's trace id still reaches the audit event). */
  readonly telemetry?: GatewayTelemetry;
  /** Prompt Shields and harm categories, for projects whose policy asks; absent, such projects get the policy's unavailable behaviour. */
  readonly contentSafety?: ContentSafetyStage;
}

/** Stands in when no Content Safety service is configured: projects that ask for screening get their failure mode. */
const unconfiguredContentSafety = new ContentSafetyStage(null);

/** What is known about a request so far; grows stage by stage and feeds its audit event. */
interface Trail {
  principal: Principal | null;
  project: ProjectPolicy | null;
  model?: string;
  deployment?: string;
  dataClass?: DataClass;
  inspection?: PromptInspection;
  readonly pending: AuditEvent[];
  /** Set once the request's own event is published, so a later refusal is not recorded twice. */
  recorded?: boolean;
  /** The end user, pseudonymised and encrypted; never the id itself. */
  subject?: string;
  readonly telemetry: RequestTelemetry;
  /** The model as authorization allowlisted it: the only form telemetry may carry. */
  allowedModel?: string;
  served?: { endpoint: EndpointPolicy; attempts: number; responseModel?: unknown; usage?: CompletionUsage | null; costUsd?: number; outputCounts?: Readonly<Record<string, number | undefined>> };
  cache?: "hit" | "miss";
  streamed?: boolean;
  /** Set when a stream is over: how it ended (null when served). */
  streamFinished?: boolean;
  streamFailure?: PalisadeError | null;
  /** Content safety's verdicts on the prompt and on the answer (flagged or failed-open findings are recorded with the call). */
  safety?: SafetyVerdict;
  outputSafety?: SafetyVerdict;
  /** The upstream's own filter stopped the answer (finish_reason content_filter). */
  upstreamFilteredCompletion?: boolean;
}

interface StreamState {
  readonly input: GatewayRequest;
  readonly trail: Trail;
  readonly context: AuthorizedContext;
  readonly served: { result: AsyncIterable<CompletionChunk>; endpoint: EndpointPolicy; attempts: number };
  readonly reservation: Reservation;
  readonly inspection: PromptInspection;
  readonly wantsUsage: boolean;
  readonly startedAtInMs: number;
}

const auditUnavailable = (): PalisadeError =>
  new PalisadeError(503, "service_unavailable_error", "audit_unavailable", "Palisade could not record this request in the audit trail, so it was not completed. Retry shortly.", {
    headers: { "retry-after": "5" },
  });

const sse = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/**
 * The governed completion: authenticate, authorize, inspect, classify, limit, route, call, inspect
 * the answer, record, respond. Every decision — success or refusal — becomes one audit event.
 */
export class ChatCompletionService {
  private readonly events: AuditEventFactory;
  /** Budget warnings from a timed usage write whose publish failed: retried on the next flush. */
  private readonly unpublishedWarnings: { readonly project: ProjectPolicy; readonly event: AuditEvent }[] = [];

  constructor(private readonly deps: ChatCompletionDeps) {
    this.events = new AuditEventFactory({ clock: deps.clock, newEventId: deps.newEventId, policyVersion: deps.policyVersion });
  }

  async handle(input: GatewayRequest): Promise<GatewayResponse> {
    const startedAtInMs = this.deps.clock.nowInMs();
    const telemetry = (this.deps.telemetry ?? untracedGatewayTelemetry).startRequest(input.traceparent);
    const trail: Trail = { principal: null, project: null, pending: [], telemetry };
    try {
      const response = await this.governedCompletion(input, trail, startedAtInMs);
      // A stream's span ends with the stream (streamEvents).
      if (response.kind === "json") telemetry.end(this.summaryOf(input, trail, response.status));
      return response;
    } catch (error) {
      await this.recordRefusal(input, trail, error, startedAtInMs);
      telemetry.end(this.summaryOf(input, trail, isPalisadeError(error) ? error.status : 500, error));
      throw error;
    }
  }

  /** What telemetry may know of a request: ids, classes, counts and codes (see RequestSummary). */
  private summaryOf(input: GatewayRequest, trail: Trail, status: number, error?: unknown): RequestSummary {
    const { inspection, served } = trail;
    return {
      project: trail.project?.id ?? this.chainForRefusal(input, trail),
      model: trail.allowedModel,
      dataClass: trail.dataClass,
      inputFindings: inspection?.counts,
      dlpAction: inspection && inspection.findingCount > 0 ? inspection.action : undefined,
      outputFindings: served?.outputCounts,
      outputDlpAction: trail.project?.dlp.output,
      contentSafety: safetyOutcomeOf(trail.outputSafety && trail.safety ? mergeVerdicts(trail.safety, trail.outputSafety) : (trail.safety ?? trail.outputSafety)),
      endpoint: served?.endpoint,
      responseModel: served?.responseModel,
      usage: served?.usage,
      costUsd: served?.costUsd,
      attempts: served?.attempts,
      cache: trail.cache,
      streamed: trail.streamed,
      status,
      error,
    };
  }

  private async governedCompletion(input: GatewayRequest, trail: Trail, startedAtInMs: number): Promise<GatewayResponse> {
    const { deps } = this;
    const telemetry = trail.telemetry;
    trail.principal = await telemetry.stage("authenticate", () => deps.authenticator.authenticate(input.authorization, input.apiKey));

    const parsed = chatCompletionRequestSchema.safeParse(input.body);
    if (!parsed.success) throw requestValidationError(parsed.error);
    const request = parsed.data;
    trail.model = request.model;
    const subjectId = subjectOf({ "x-palisade-subject": input.subjectHeader }, request.user);
    if (subjectId !== null && this.deps.subjects) trail.subject = (await this.deps.subjects.protect(subjectId)).value;

    const principal = trail.principal;
    const context = telemetry.stageSync("authorize", () => {
      const authorized = authorize({
        principal,
        policy: deps.policy,
        requestedProject: input.requestedProject,
        permission: "chat.completions",
        clientIp: input.clientIp,
        model: request.model,
      });
      trail.project = authorized.project;
      trail.deployment = authorized.model?.deployment;
      trail.allowedModel = authorized.model?.name;
      this.checkBounds(request, authorized.project);
      return authorized;
    });
    const project = context.project;

    const declared = parseDataClassHeader(input.dataClassHeader);
    const requestedResidency = parseResidencyHeader(input.residencyHeader);
    const { inspection, dataClass } = telemetry.stageSync("inspect", () => {
      const inspected = inspectPrompt(request, project, declared ?? project.defaultClassification, deps.clock);
      trail.inspection = inspected;
      if (inspected.action === "block") throw sensitiveDataDetected("prompt", inspected.counts);
      const raised = classify({ declared, projectDefault: project.defaultClassification, dlpRaisedTo: inspected.raisedTo });
      trail.dataClass = raised;
      return { inspection: inspected, dataClass: raised };
    });

    // Content safety: after DLP (the service sees the prompt as redacted), before the cache, limits and the call.
    const safety = deps.contentSafety ?? unconfiguredContentSafety;
    if (safety.applies(project, dataClass)) {
      trail.safety = await telemetry.stage("content_safety", () => safety.screenInput(project, dataClass, chatSafetyTexts(inspection.request.messages)));
    }

    const plan = telemetry.stageSync("route", () => planRoute({ policy: deps.policy, project, model: request.model, dataClass, requestedResidency }, deps.health));
    trail.deployment = plan.deployment;
    const upstreamBody = this.upstreamBody(inspection.request);

    const cacheKey = this.cacheKeyOf(project, dataClass, inspection, plan, upstreamBody);
    if (cacheKey) {
      const hit = await telemetry.stage("cache", () => this.cachedResponse(cacheKey));
      if (hit) return this.respondFromCache(input, trail, context, hit, startedAtInMs);
      trail.cache = "miss";
    }

    const reservation = await telemetry.stage("limit", () =>
      deps.limits.reserve({
        project,
        serviceAccount: context.serviceAccount,
        keyId: principal.kind === "service-account" ? principal.keyId : null,
        model: request.model,
        deployment: plan.deployment,
        estimatedPromptTokens: () => estimatePromptTokens(request.model, inspection.request.messages),
        maxOutputTokens: requestedMaxTokens(request) ?? project.maxTokens,
      }),
    );

    if (request.stream === true) return this.streamed(input, trail, context, plan, upstreamBody, reservation, startedAtInMs);

    let served: { result: Awaited<ReturnType<CompletionProvider["complete"]>>; endpoint: EndpointPolicy; attempts: number };
    try {
      served = await this.callUpstream(input, trail, plan, (endpoint, timeoutInMs) =>
        telemetry.attempt(
          endpoint,
          plan.deployment,
          (traceparent) => deps.provider.complete(endpoint, upstreamBody, { deployment: plan.deployment, timeoutInMs, requestId: input.requestId, traceparent, tracestate: input.tracestate }),
          (completion) => ({ responseModel: completion.body.model, usage: completion.usage }),
        ),
      );
    } catch (error) {
      await deps.limits.release(reservation);
      throw error;
    }
    trail.served = { endpoint: served.endpoint, attempts: served.attempts, responseModel: served.result.body.model, usage: served.result.usage };

    const settled = await this.settle(telemetry, reservation, served.result.usage, inspection.request, project);
    trail.served.costUsd = settled.costUsd;
    const output = telemetry.stageSync("inspect_output", () => inspectCompletion(served.result, project, inspection.redactor));
    trail.served.outputCounts = output.counts;
    trail.upstreamFilteredCompletion = served.result.body.choices.some((choice) => choice.finish_reason === "content_filter");
    let blocked: PalisadeError | null = output.blocked ? sensitiveDataDetected("completion", output.counts) : null;
    if (!blocked && safety.applies(project, dataClass)) blocked = await this.screenAnswer(trail, project, dataClass, output.body.choices);
    // A blocked answer was still a paid call: its event keeps the tokens, cost and endpoint.
    const event = this.callEvent(input, trail, context, {
      endpoint: served.endpoint,
      usage: served.result.usage,
      costUsd: settled.costUsd,
      latencyInMs: deps.clock.nowInMs() - startedAtInMs,
      outputCounts: output.counts,
      attempts: served.attempts,
      failure: blocked,
    });
    await this.publish(telemetry, project, [...trail.pending, event, ...settled.warningEvents]);
    trail.pending.length = 0;
    trail.recorded = true;
    if (blocked) throw blocked;

    const body = JSON.stringify(output.body);
    if (cacheKey) await this.storeInCache(cacheKey, project, body, served.endpoint);
    return {
      kind: "json",
      status: 200,
      headers: {
        ...this.commonHeaders(input, reservation.headers, dataClass, inspection.redactions + output.redactions),
        ...servedByHeaders(served.endpoint),
        ...(cacheKey ? { "x-palisade-cache": "miss" } : {}),
      },
      body: output.body,
    };
  }

  private checkBounds(request: ChatCompletionRequest, project: ProjectPolicy): void {
    if (request.messages.length > project.maxMessages) {
      throw new PalisadeError(400, "invalid_request_error", "invalid_request", `messages has ${request.messages.length} entries; this project allows at most ${project.maxMessages}.`, { param: "messages" });
    }
    const maxTokens = requestedMaxTokens(request);
    if (maxTokens !== null && maxTokens > project.maxTokens) {
      const param = request.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
      throw new PalisadeError(400, "invalid_request_error", "invalid_request", `${param} is ${maxTokens}; this project allows at most ${project.maxTokens}.`, { param });
    }
  }

  /** The body sent upstream: the caller's, with the prompt as inspected; the model is mapped by the provider. */
  private upstreamBody(request: ChatCompletionRequest): Readonly<Record<string, unknown>> {
    // `user` may identify a person; it is not needed upstream for governance and is not forwarded.
    const { user: _user, stream_options: _streamOptions, ...rest } = request;
    return rest;
  }

  private cacheKeyOf(project: ProjectPolicy, dataClass: DataClass, inspection: PromptInspection, plan: RoutePlan, body: Readonly<Record<string, unknown>>): string | null {
    if (!this.deps.cache) return null;
    const candidate = { projectId: project.id, cache: project.cache, dataClass, dlpFindingCount: inspection.findingCount, deployment: plan.deployment, body };
    if (!isCacheable(candidate).cacheable) return null;
    return cacheKeyFor(candidate, this.deps.cache.secret);
  }

  private async cachedResponse(key: string): Promise<CachedResponse | null> {
    try {
      return (await this.deps.cache?.store.get(key)) ?? null;
    } catch {
      this.deps.logger.warn("response cache read failed; treating as a miss");
      return null;
    }
  }

  private async storeInCache(key: string, project: ProjectPolicy, body: string, endpoint: EndpointPolicy): Promise<void> {
    const ttlSeconds = project.cache?.ttlSeconds;
    if (!this.deps.cache || ttlSeconds === undefined) return;
    const value: CachedResponse = { body, contentType: "application/json", endpointId: endpoint.id, region: endpoint.region, endpointClass: endpoint.class, createdAtInMs: this.deps.clock.nowInMs() };
    try {
      await this.deps.cache.store.set(key, value, ttlSeconds * 1000);
    } catch {
      this.deps.logger.warn("response cache write failed", { project: project.id });
    }
  }

  private async respondFromCache(input: GatewayRequest, trail: Trail, context: AuthorizedContext, hit: CachedResponse, startedAtInMs: number): Promise<GatewayResponse> {
    trail.cache = "hit";
    const endpoint = this.deps.policy.endpoints.find((candidate) => candidate.id === hit.endpointId);
    if (endpoint) trail.served = { endpoint, attempts: 0, usage: null, costUsd: 0 };
    const event = this.eventFor(trail, {
      type: "api_call",
      status: "success",
      httpStatus: 200,
      project: context.project.id,
      environment: context.project.environment,
      actor: actorOf(trail.principal),
      model: trail.model,
      deployment: trail.deployment,
      endpointId: hit.endpointId,
      region: hit.region,
      classification: trail.dataClass,
      requestId: input.requestId,
      traceId: trail.telemetry.traceId,
      latencyInMs: this.deps.clock.nowInMs() - startedAtInMs,
      tokens: { input: 0, output: 0 },
      costUsd: 0,
      details: { cache: "hit" },
    });
    await this.publish(trail.telemetry, context.project, [event]);
    return {
      kind: "json",
      status: 200,
      headers: {
        ...this.commonHeaders(input, {}, trail.dataClass ?? "public", 0),
        ...servedByHeaders({ region: hit.region, class: hit.endpointClass }),
        "x-palisade-cache": "hit",
        age: String(Math.max(0, Math.floor((this.deps.clock.nowInMs() - hit.createdAtInMs) / 1000))),
      },
      body: JSON.parse(hit.body) as unknown,
    };
  }

  private callUpstream<T>(input: GatewayRequest, trail: Trail, plan: RoutePlan, call: (endpoint: EndpointPolicy, timeoutInMs: number) => Promise<T>) {
    const { deps } = this;
    return executeWithFailover(plan, (endpoint, { timeoutInMs }) => call(endpoint, timeoutInMs), {
      health: deps.health,
      clock: deps.clock,
      maxAttempts: deps.policy.routing.maxAttempts,
      totalDeadlineInMs: deps.policy.routing.totalDeadlineInMs,
      classifyError: (error) => (isUpstreamError(error) ? { kind: error.kind, retryAfterInMs: error.retryAfterInMs } : { kind: "fatal" }),
      onFailover: (from, to, reason) => {
        trail.telemetry.failover(from, to, reason);
        trail.pending.push(
          this.eventFor(trail, {
            type: "fallback_triggered",
            status: "success",
            project: trail.project?.id,
            environment: trail.project?.environment,
            actor: actorOf(trail.principal),
            model: trail.model,
            deployment: plan.deployment,
            classification: plan.dataClass,
            requestId: input.requestId,
            traceId: trail.telemetry.traceId,
            reason,
            details: { fromEndpoint: from.id, fromRegion: from.region, toEndpoint: to.id, toRegion: to.region, residency: plan.residency },
          }),
        );
      },
    }).catch((error: unknown) => {
      throw upstreamRefusal(error);
    });
  }

  private async settle(telemetry: RequestTelemetry, reservation: Reservation, usage: CompletionUsage | null, sent: ChatCompletionRequest, project: ProjectPolicy) {
    // Without usage from the upstream, settle at the reservation's size (prompt as sent + the output
    // budget): the safe side for budgets. `sent` is the request as it went upstream, redactions included.
    const tokens = usage
      ? { inputTokens: usage.promptTokens, cachedInputTokens: usage.cachedPromptTokens, outputTokens: usage.completionTokens }
      : { inputTokens: estimatePromptTokens(sent.model, sent.messages), outputTokens: requestedMaxTokens(sent) ?? project.maxTokens };
    const result = await telemetry.stage("settle", () => this.deps.limits.settle(reservation, tokens));
    return { costUsd: result.costUsd, warningEvents: result.warnings.map((warning) => this.budgetWarningEvent(project, warning)) };
  }

  /**
   * Writes the usage settled since the last write and hands back unused leases (a timer calls
   * this; `everything` before the instance stops). Budget thresholds the write crossed become
   * `budget_warning` events, published like any request's: a warning is never only a log line.
   * Events that could not be published are kept and published first on the next call.
   */
  async flushUsage(options: { readonly everything?: boolean } = {}): Promise<void> {
    const warnings = options.everything === true ? await this.deps.limits.close() : await this.deps.limits.flush();
    for (const warning of warnings) {
      const project = this.deps.policy.projects.find((candidate) => candidate.id === warning.project);
      if (project !== undefined) this.unpublishedWarnings.push({ project, event: this.budgetWarningEvent(project, warning) });
    }
    const waiting = this.unpublishedWarnings.splice(0);
    const projects = new Set(waiting.map(({ project }) => project));
    const failed: unknown[] = [];
    for (const project of projects) {
      const mine = waiting.filter((item) => item.project === project);
      try {
        await this.deps.auditPublisherFor(project).publish(mine.map(({ event }) => event));
      } catch (error) {
        this.unpublishedWarnings.push(...mine);
        failed.push(error);
      }
    }
    if (failed.length > 0) throw new AggregateError(failed, `${this.unpublishedWarnings.length} budget warning event(s) not published yet; they are retried on the next flush`);
  }

  private budgetWarningEvent(project: ProjectPolicy, warning: BudgetWarning): AuditEvent {
    return this.events.create({
      type: "budget_warning",
      status: "success",
      project: project.id,
      environment: project.environment,
      actor: { kind: "system", id: "limits" },
      reason: warning.fraction >= 1 ? "budget_spent" : "budget_threshold",
      details: { period: warning.period, fraction: warning.fraction, spentUsd: warning.spentUsd, budgetUsd: warning.budgetUsd },
    });
  }

  private streamed(
    input: GatewayRequest,
    trail: Trail,
    context: AuthorizedContext,
    plan: RoutePlan,
    upstreamBody: Readonly<Record<string, unknown>>,
    reservation: Reservation,
    startedAtInMs: number,
  ): Promise<GatewayResponse> {
    const { deps } = this;
    const inspection = trail.inspection;
    if (!inspection) throw new Error("inspection must run before streaming");
    // Palisade always asks the upstream for usage (to settle limits); the caller gets it only if it asked.
    const wantsUsage = inspection.request.stream_options?.include_usage === true;

    trail.streamed = true;
    return this.callUpstream(input, trail, plan, (endpoint, timeoutInMs) =>
      trail.telemetry.attempt(endpoint, plan.deployment, (traceparent) =>
        deps.provider.stream(endpoint, upstreamBody, { deployment: plan.deployment, timeoutInMs, requestId: input.requestId, traceparent, tracestate: input.tracestate }),
      ),
    ).then(
      (served): GatewayResponse => ({
        kind: "stream",
        status: 200,
        headers: { ...this.commonHeaders(input, reservation.headers, trail.dataClass ?? "internal", inspection.redactions), ...servedByHeaders(served.endpoint) },
        events: this.streamEvents({ input, trail, context, served, reservation, inspection, wantsUsage, startedAtInMs }),
      }),
      async (error: unknown) => {
        await deps.limits.release(reservation);
        throw error;
      },
    );
  }

  /**
   * The SSE frames of a streamed completion: the upstream's chunks with their content inspected as it
   * flows, then — once the stream is over — settlement, the audit event, and the end marker. An error
   * after the headers have gone out is sent as an OpenAI error frame (the SDK raises it).
   */
  private async *streamEvents(stream: StreamState): AsyncIterable<string> {
    const { input, trail } = stream;
    try {
      yield* this.streamFrames(stream);
    } finally {
      // Ends the request's span once the stream is over, or abandoned by the caller (then still "served").
      const failure = trail.streamFailure ?? undefined;
      trail.telemetry.end({ ...this.summaryOf(input, trail, failure ? failure.status : 200, failure), ...(trail.streamFinished ? {} : { abandoned: true }) });
    }
  }

  private async *streamFrames(stream: StreamState): AsyncIterable<string> {
    const { input, trail, context, served, reservation, inspection } = stream;
    const project = context.project;
    trail.served = { endpoint: served.endpoint, attempts: served.attempts };
    const outputStage = trail.telemetry.begin("inspect_output");
    const inspector = new CompletionStreamInspector(project, inspection.redactor);
    // Content safety on the answer holds chunks in bounded windows and releases a window only once it is screened.
    const safetyScreen = (this.deps.contentSafety ?? unconfiguredContentSafety).streamScreen<CompletionChunk>(project, trail.dataClass ?? project.defaultClassification, chunkText);
    let safetyStopped: "blocked" | "unavailable" | null = null;
    let usage: CompletionUsage | null = null;
    let template: CompletionChunk | null = null;
    let failure: PalisadeError | null = null;
    try {
      for await (const chunk of served.result) {
        if (chunk.usage) usage = usageOf(chunk.usage);
        if (chunk.choices.some((choice) => choice.finish_reason === "content_filter")) trail.upstreamFilteredCompletion = true;
        // Azure's prompt annotations come in a chunk without choices; other choice-less chunks carry usage only.
        if (chunk.choices.length === 0 && chunk.prompt_filter_results === undefined) continue;
        if (chunk.choices.length > 0) template ??= { ...chunk, choices: [] };
        const inspected = chunk.choices.length === 0 ? chunk : inspector.inspect(chunk);
        if (!inspected) break;
        if (!safetyScreen) {
          yield sse(inspected);
          continue;
        }
        const step = await safetyScreen.push(inspected);
        for (const released of step.release) yield sse(released);
        safetyStopped = step.stopped;
        if (safetyStopped) break;
      }
      const tail = safetyStopped ? null : inspector.finish(template);
      if (tail) {
        for (const chunk of tail) {
          if (!safetyScreen) {
            yield sse(chunk);
            continue;
          }
          const step = await safetyScreen.push(chunk);
          for (const released of step.release) yield sse(released);
          safetyStopped = step.stopped;
          if (safetyStopped) break;
        }
      }
      if (safetyScreen && !safetyStopped && !inspector.result().blocked) {
        const step = await safetyScreen.finish();
        for (const released of step.release) yield sse(released);
        safetyStopped = step.stopped;
      }
    } catch (error) {
      failure = isPalisadeError(error)
        ? error
        : new PalisadeError(502, "api_error", "upstream_error", `The upstream stream from endpoint ${served.endpoint.id} ended early. Retry the request.`);
    }
    const outcome = inspector.result();
    if (outcome.blocked) {
      failure = new PalisadeError(422, "invalid_request_error", "sensitive_data_detected", "The model's answer contained sensitive data and this project blocks it; the stream was stopped.");
    }
    if (safetyScreen) trail.outputSafety = safetyScreen.result();
    if (safetyStopped === "blocked" && safetyScreen) failure = contentFiltered(safetyScreen.result(), "completion");
    else if (safetyStopped === "unavailable") failure = contentSafetyUnavailable("categories");
    outputStage.end(failure ?? undefined);

    const settled = await this.settle(trail.telemetry, reservation, usage, inspection.request, project).catch(() => ({ costUsd: 0, warningEvents: [] }));
    trail.served = { ...trail.served, usage, costUsd: settled.costUsd, outputCounts: outcome.counts };
    const event = this.callEvent(input, trail, context, {
      endpoint: served.endpoint,
      usage,
      costUsd: settled.costUsd,
      latencyInMs: this.deps.clock.nowInMs() - stream.startedAtInMs,
      outputCounts: outcome.counts,
      attempts: served.attempts,
      failure,
    });
    let recorded = true;
    try {
      await this.publish(trail.telemetry, project, [...trail.pending, event, ...settled.warningEvents]);
    } catch {
      recorded = false;
    }
    // Headers are gone; the closest to failing closed is an error frame instead of the end marker.
    const fatal = failure ?? (recorded ? null : auditUnavailable());
    trail.streamFailure = fatal;
    trail.streamFinished = true;
    if (fatal) {
      yield sse({ error: { message: fatal.message, type: fatal.type, code: fatal.code, param: null } });
      return;
    }
    if (stream.wantsUsage && usage) {
      const { promptTokens, completionTokens, cachedPromptTokens } = usage;
      yield sse({ ...(template ?? {}), choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, prompt_tokens_details: { cached_tokens: cachedPromptTokens } } });
    }
    yield "data: [DONE]\n\n";
  }

  private callEvent(
    input: GatewayRequest,
    trail: Trail,
    context: AuthorizedContext,
    outcome: { endpoint: EndpointPolicy; usage: CompletionUsage | null; costUsd: number; latencyInMs: number; outputCounts: Readonly<Record<string, number | undefined>>; attempts: number; failure?: PalisadeError | null },
  ): AuditEvent {
    const inspection = trail.inspection;
    const findings = countsRecord(inspection?.counts ?? {});
    for (const [type, count] of Object.entries(outcome.outputCounts)) findings[`output.${type}`] = count ?? 0;
    const failure = outcome.failure ?? null;
    const filtered = isContentFilteredError(failure) ? failure : null;
    return this.eventFor(trail, {
      type: filtered ? filtered.auditType : "api_call",
      status: failure ? (failure.code === "sensitive_data_detected" || filtered ? "blocked" : "error") : "success",
      httpStatus: failure ? failure.status : 200,
      project: context.project.id,
      environment: context.project.environment,
      actor: actorOf(trail.principal),
      model: trail.model,
      deployment: trail.deployment,
      endpointId: outcome.endpoint.id,
      region: outcome.endpoint.region,
      classification: trail.dataClass,
      tokens: outcome.usage ? { input: outcome.usage.promptTokens, cachedInput: outcome.usage.cachedPromptTokens, output: outcome.usage.completionTokens } : undefined,
      costUsd: outcome.costUsd,
      latencyInMs: outcome.latencyInMs,
      ...(Object.keys(findings).length > 0 ? { dlpFindings: findings, dlpAction: inspection?.action } : {}),
      requestId: input.requestId,
      traceId: trail.telemetry.traceId,
      reason: failure?.code,
      contentDigest: this.deps.digestKey && inspection ? promptDigest(this.deps.digestKey, inspection.request.messages.flatMap(textPartsOf)) : undefined,
      details: { attempts: outcome.attempts, endpointClass: outcome.endpoint.class, ...this.safetyDetails(trail), ...(filtered?.auditDetails ?? {}) },
    });
  }

  private commonHeaders(input: GatewayRequest, rateLimitHeaders: Readonly<Record<string, string>>, dataClass: DataClass, redactions: number): Record<string, string> {
    return { "x-request-id": input.requestId, ...rateLimitHeaders, "x-palisade-classification": dataClass, "x-palisade-redactions": String(redactions) };
  }

  private async publish(telemetry: RequestTelemetry, project: ProjectPolicy | null, events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await telemetry.stage("audit_publish", () => this.deps.auditPublisherFor(project).publish(events));
    } catch {
      telemetry.auditPublishFailed(project?.id);
      this.deps.logger.error("audit events could not be published", { project: project?.id ?? null, events: events.length, eventIds: events.map((event) => event.eventId) });
      throw auditUnavailable();
    }
  }

  /**
   * Content safety on a whole answer (every choice's text, one call); returns the refusal to record
   * and send when the project blocks what was found, null when the answer may go out.
   */
  private async screenAnswer(trail: Trail, project: ProjectPolicy, dataClass: DataClass, choices: readonly { readonly message?: { readonly content?: unknown } }[]): Promise<PalisadeError | null> {
    const safety = this.deps.contentSafety ?? unconfiguredContentSafety;
    const text = choices.map((choice) => (typeof choice.message?.content === "string" ? choice.message.content : "")).join("\n\n");
    try {
      trail.outputSafety = await trail.telemetry.stage("content_safety", () => safety.screenOutput(project, dataClass, text));
      return null;
    } catch (error) {
      if (isPalisadeError(error)) return error;
      throw error;
    }
  }

  /** What an event records of content safety for this request: flagged or failed-open screening, and the upstream's own filter. */
  private safetyDetails(trail: Trail): Record<string, string | number | boolean | null> {
    const details: Record<string, string | number | boolean | null> = {};
    if (trail.safety && (trail.safety.action !== "allow" || trail.safety.failedOpen.length > 0)) Object.assign(details, safetyAuditDetails(trail.safety, "palisade", "prompt"));
    if (trail.outputSafety && (trail.outputSafety.action !== "allow" || trail.outputSafety.failedOpen.length > 0)) {
      const output = safetyAuditDetails(trail.outputSafety, "palisade", "completion");
      if (output.safetyFailedOpen !== undefined && details.safetyFailedOpen !== undefined) output.safetyFailedOpen = [...new Set(`${String(details.safetyFailedOpen)},${String(output.safetyFailedOpen)}`.split(","))].sort().join(",");
      Object.assign(details, output);
    }
    if (trail.upstreamFilteredCompletion) Object.assign(details, { upstreamFiltered: "completion", safetySource: details.safetySource ?? "upstream" });
    return details;
  }

  /** An event about this request: it carries the request's end user, pseudonymised and encrypted, when known. */
  private eventFor(trail: Trail, fields: AuditEventFields): AuditEvent {
    return this.events.create(trail.subject === undefined ? fields : { ...fields, subject: trail.subject });
  }

  /**
   * The chain a refusal belongs to: the project when it is known — from authorization, the key, the
   * project the caller named (if it exists), or a user's only project — else the system chain.
   */
  private chainForRefusal(input: GatewayRequest, trail: Trail): string | undefined {
    if (trail.project) return trail.project.id;
    const principal = trail.principal;
    if (principal?.kind === "service-account") return principal.project;
    const projects = knownProjectIds(this.deps.policy);
    if (input.requestedProject && projects.has(input.requestedProject)) return input.requestedProject;
    const memberOf = principal ? Object.keys(principal.roles).filter((id) => projects.has(id)) : [];
    return memberOf.length === 1 ? memberOf[0] : undefined;
  }

  /** One event for a refused or failed request, typed by why it stopped. */
  private async recordRefusal(input: GatewayRequest, trail: Trail, error: unknown, startedAtInMs: number): Promise<void> {
    const known = isPalisadeError(error) ? error : null;
    if (known?.code === "audit_unavailable" || trail.recorded) return;
    const filtered = isContentFilteredError(known) ? known : null;
    const safetyDetails = { ...this.safetyDetails(trail), ...(filtered?.auditDetails ?? {}) };
    const fields: AuditEventFields = {
      type: filtered ? filtered.auditType : refusalType(known),
      status: known && known.status < 500 ? "blocked" : "error",
      httpStatus: known?.status ?? 500,
      project: this.chainForRefusal(input, trail),
      environment: trail.project?.environment,
      actor: actorOf(trail.principal),
      model: trail.model,
      deployment: trail.deployment,
      classification: trail.dataClass,
      requestId: input.requestId,
      traceId: trail.telemetry.traceId,
      latencyInMs: this.deps.clock.nowInMs() - startedAtInMs,
      reason: known?.code ?? "internal_error",
      ...(trail.inspection && trail.inspection.findingCount > 0 ? { dlpFindings: countsRecord(trail.inspection.counts), dlpAction: trail.inspection.action } : {}),
      ...(Object.keys(safetyDetails).length > 0 ? { details: safetyDetails } : {}),
    };
    try {
      await trail.telemetry.stage("audit_publish", () => this.deps.auditPublisherFor(trail.project).publish([...trail.pending, this.events.create(fields)]));
    } catch {
      trail.telemetry.auditPublishFailed(fields.project);
      this.deps.logger.error("audit event for a refused request could not be published", { requestId: input.requestId, reason: fields.reason ?? null });
    }
  }
}

/** An upstream that refused the request itself (fatal) as an error the caller can act on; anything else unchanged. */
function upstreamRefusal(error: unknown): unknown {
  if (!isUpstreamError(error) || error.kind !== "fatal") return error;
  if (error.status === 400 && error.detail.code === "content_filter") return upstreamContentFiltered(error.detail.contentFilterResult);
  if (error.status === 400 || error.status === 413 || error.status === 422) {
    return new PalisadeError(400, "invalid_request_error", "invalid_request", `The upstream model service refused this request as invalid (HTTP ${error.status}). Check its parameters and content.`, { cause: error });
  }
  return new PalisadeError(502, "api_error", "upstream_error", "The upstream model service refused the call. Retry later; if it persists, tell the operator.", { cause: error });
}

function knownProjectIds(policy: Policy): ReadonlySet<string> {
  return new Set(policy.projects.map((project) => project.id));
}

function refusalType(error: PalisadeError | null): AuditEvent["type"] {
  switch (error?.code) {
    case "missing_api_key":
    case "invalid_api_key":
    case "expired_api_key":
    case "revoked_api_key":
    case "invalid_token":
    case "expired_token":
      return "auth_failed";
    case "sensitive_data_detected":
    case "inspection_failed":
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

function usageOf(usage: NonNullable<CompletionChunk["usage"]>): CompletionUsage {
  return { promptTokens: usage.prompt_tokens ?? 0, cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 };
}

/** The trace id of a W3C `traceparent` (version-traceid-parentid-flags), when well formed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = /^(?!ff)[\da-f]{2}-([\da-f]{32})-(?!0{16})[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? "");
  return match?.[1] && !/^0+$/.test(match[1]) ? match[1] : undefined;
}

/** The text a streamed chunk adds, across its choices: what output content safety screens. */
function chunkText(chunk: CompletionChunk): string {
  let text = "";
  for (const choice of chunk.choices) if (typeof choice.delta?.content === "string") text += choice.delta.content;
  return text;
}
