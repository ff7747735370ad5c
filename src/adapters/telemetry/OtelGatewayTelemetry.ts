import {
  type Attributes,
  type Context,
  type Meter,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  INVALID_TRACEID,
  trace,
} from "@opentelemetry/api";
import { type Clock } from "../../core/clock.js";
import { ENTITY_TYPES } from "../../core/dlp/types.js";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type FailureKind } from "../../core/routing/EndpointHealth.js";
import {
  type AttemptResult,
  type FindingCountsByType,
  type GatewayStage,
  type GatewayTelemetry,
  type RequestSummary,
  type RequestTelemetry,
  type StageHandle,
} from "../../core/telemetry/GatewayTelemetry.js";
import { ATTR, type Decision, METRIC, errorCodeOf, genAiSystemOf, safeModelName, serverAddressOf } from "../../core/telemetry/telemetryAttributes.js";
import { type CounterSeries, PreAggregatedCounter } from "../../adapters/telemetry/PreAggregatedCounter.js";
import { type HistogramSeries, type InProcessHistograms, type PreAggregatedHistogram } from "../../adapters/telemetry/PreAggregatedHistogram.js";
import { formatTraceparent, parseTraceparent } from "../../core/telemetry/traceContext.js";

export interface OtelGatewayTelemetryOptions {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /**
   * Where the duration histograms are aggregated (in process; the adapter's metric reader reports
   * them: startTelemetrySdk's `histograms`).
   */
  readonly histograms: InProcessHistograms;
  /**
   * Times spans and latency samples. Production passes a high-resolution clock
   * (`performance.timeOrigin + performance.now()`); tests a ManualClock, so durations are exact.
   */
  readonly clock: Clock;
  /**
   * The share of requests traced, in [0, 1] (default 1). Decided here, before the SDK is touched, so an
   * unsampled request costs its metrics only. A caller's "not sampled" is always honoured; a caller's
   * "sampled" is honoured up to the ratio (by trace id, as TraceIdRatioBased does).
   */
  readonly traceSampleRatio?: number;
  /** Uniform in [0, 1); tests pass their own. */
  readonly random?: () => number;
}

/** The instruments a request records into; created once per meter. Counters and histograms are aggregated in process. */
interface Instruments {
  readonly requests: PreAggregatedCounter;
  readonly requestDuration: PreAggregatedHistogram;
  readonly tokens: PreAggregatedCounter;
  readonly cost: PreAggregatedCounter;
  readonly stageDuration: PreAggregatedHistogram;
  readonly dlpFindings: PreAggregatedCounter;
  readonly limitRejections: PreAggregatedCounter;
  readonly upstreamAttempts: PreAggregatedCounter;
  readonly failovers: PreAggregatedCounter;
  readonly auditPublishFailures: PreAggregatedCounter;
}

const STAGE_SPAN_NAMES: Readonly<Record<GatewayStage, string>> = {
  authenticate: "palisade.authenticate",
  authorize: "palisade.authorize",
  inspect: "palisade.inspect",
  content_safety: "palisade.content_safety",
  route: "palisade.route",
  cache: "palisade.cache",
  limit: "palisade.limit",
  upstream: "palisade.upstream",
  settle: "palisade.settle",
  inspect_output: "palisade.inspect_output",
  audit_publish: "palisade.audit_publish",
};

const LIMIT_KINDS: Readonly<Record<string, string>> = { rate_limit_exceeded: "rate", budget_exceeded: "budget" };

export const ROOT_SPAN_NAME = "palisade.chat_completion";

/**
 * Governed completions as OpenTelemetry traces and metrics, through `@opentelemetry/api` only: the
 * API is a pure, vendor-neutral port (no I/O, no-op until an SDK is registered), so core depends on it
 * the way it depends on zod; the SDK and exporters are wired in `src/adapters/telemetry`.
 */
export class OtelGatewayTelemetry implements GatewayTelemetry {
  private readonly series: SeriesCache;

  constructor(private readonly options: OtelGatewayTelemetryOptions) {
    const { meter, histograms } = options;
    this.series = new SeriesCache({
      requests: new PreAggregatedCounter(meter, METRIC.requests, { description: "Governed chat completions, by project, model, decision and status." }),
      requestDuration: histograms.create(METRIC.requestDuration, { description: "Time from request to decision.", unit: "ms" }),
      tokens: new PreAggregatedCounter(meter, METRIC.tokens, { description: "Input and output tokens of upstream calls, by project and model.", unit: "{token}" }),
      cost: new PreAggregatedCounter(meter, METRIC.cost, { description: "Cost of upstream calls as priced by the policy.", unit: "USD" }),
      stageDuration: histograms.create(METRIC.stageDuration, { description: "Latency of each stage of a governed completion (requests whose trace is sampled).", unit: "ms" }),
      dlpFindings: new PreAggregatedCounter(meter, METRIC.dlpFindings, { description: "Sensitive-data findings, by entity type, direction and action." }),
      limitRejections: new PreAggregatedCounter(meter, METRIC.limitRejections, { description: "Requests refused by a rate limit or a budget." }),
      upstreamAttempts: new PreAggregatedCounter(meter, METRIC.upstreamAttempts, { description: "Upstream attempts, by endpoint and outcome." }),
      failovers: new PreAggregatedCounter(meter, METRIC.failovers, { description: "Failovers from one endpoint to another of the same plan." }),
      auditPublishFailures: new PreAggregatedCounter(meter, METRIC.auditPublishFailures, { description: "Requests whose audit events could not be published." }),
    });
  }

  startRequest(traceparent: string | undefined): RequestTelemetry {
    const remote = parseTraceparent(traceparent);
    if (!this.sampled(remote)) return new TracedRequest(this.options, this.series, null, traceparent, remote?.traceId);
    const parent = remote === null ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote);
    return new TracedRequest(this.options, this.series, parent, traceparent, remote?.traceId);
  }

  private sampled(remote: SpanContext | null): boolean {
    const ratio = this.options.traceSampleRatio ?? 1;
    if (remote !== null) return (remote.traceFlags & TraceFlags.SAMPLED) !== 0 && (ratio >= 1 || traceIdBelow(remote.traceId, ratio));
    return ratio >= 1 || (this.options.random ?? Math.random)() < ratio;
  }
}

/** TraceIdRatioBased's rule: the trace id's low 8 hex digits, as a fraction of 2^32, below the ratio. */
function traceIdBelow(traceId: string, ratio: number): boolean {
  return Number.parseInt(traceId.slice(-8), 16) < ratio * 0x1_0000_0000;
}

/** Attribute sets that never change, made once: the hot path allocates none of them. */
const STAGES = Object.keys(STAGE_SPAN_NAMES) as GatewayStage[];

function perStage<T>(make: (stage: GatewayStage) => T): Readonly<Record<GatewayStage, T>> {
  const table: Partial<Record<GatewayStage, T>> = {};
  for (const stage of STAGES) table[stage] = make(stage);
  return table as Record<GatewayStage, T>;
}

const STAGE_SPAN_ATTRIBUTES = perStage((stage): Attributes => Object.freeze({ [ATTR.stage]: stage }));
const STAGE_METRIC_ATTRIBUTES = perStage((stage) => ({
  ok: Object.freeze({ [ATTR.stage]: stage, [ATTR.outcome]: "ok" }),
  error: Object.freeze({ [ATTR.stage]: stage, [ATTR.outcome]: "error" }),
}));
const ROOT_ATTRIBUTES: Attributes = Object.freeze({ [ATTR.genAiOperation]: "chat" });

/** Most (project, model) pairs cached; beyond that (a policy with thousands of models) series are looked up by key. */
const MAX_CACHED_SCOPES = 2_000;

/**
 * The series a request records into, resolved once and kept: an unsampled request's metrics are a few
 * Map lookups on strings it already holds (policy ids, which keep their hash) and `+=` on handles — no
 * key strings, attribute objects or closures per request.
 */
class SeriesCache {
  private readonly scopes = new Map<string, Map<string, ScopeSeries>>();
  private cachedScopes = 0;
  private readonly attempts = new WeakMap<EndpointPolicy, Map<string, CounterSeries>>();
  readonly stages: Readonly<Record<GatewayStage, { readonly ok: HistogramSeries; readonly error: HistogramSeries }>>;

  constructor(readonly instruments: Instruments) {
    this.stages = perStage((stage) => ({
      ok: instruments.stageDuration.series(`${stage}|ok`, () => STAGE_METRIC_ATTRIBUTES[stage].ok),
      error: instruments.stageDuration.series(`${stage}|error`, () => STAGE_METRIC_ATTRIBUTES[stage].error),
    }));
  }

  scope(project: string | undefined, model: string | undefined): ScopeSeries {
    const projectKey = project ?? "";
    const modelKey = model ?? "";
    let byModel = this.scopes.get(projectKey);
    let scope = byModel?.get(modelKey);
    if (scope !== undefined) return scope;
    const attributes: Attributes = {};
    if (project !== undefined) attributes[ATTR.project] = project;
    if (model !== undefined) attributes[ATTR.genAiRequestModel] = model;
    scope = new ScopeSeries(this.instruments, `${projectKey}|${modelKey}`, Object.freeze(attributes));
    if (this.cachedScopes < MAX_CACHED_SCOPES) {
      if (byModel === undefined) {
        byModel = new Map();
        this.scopes.set(projectKey, byModel);
      }
      byModel.set(modelKey, scope);
      this.cachedScopes += 1;
    }
    return scope;
  }

  attempt(endpoint: EndpointPolicy, outcome: string): CounterSeries {
    let byOutcome = this.attempts.get(endpoint);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.attempts.set(endpoint, byOutcome);
    }
    let series = byOutcome.get(outcome);
    if (series === undefined) {
      series = this.instruments.upstreamAttempts.series(`${endpoint.id}|${outcome}`, () => ({ [ATTR.endpointId]: endpoint.id, [ATTR.region]: endpoint.region, [ATTR.outcome]: outcome }));
      byOutcome.set(outcome, series);
    }
    return series;
  }
}

const DECISIONS: readonly Decision[] = ["served", "blocked", "error"];

/** The series of one project and model: requests by status and reason, duration by decision, tokens, cost, rejections. */
class ScopeSeries {
  private readonly requestSeries = new Map<number, Map<string, CounterSeries>>();
  private readonly durationSeries = new Map<Decision, HistogramSeries>();
  private readonly tokenSeries = new Map<string, { readonly input: CounterSeries; readonly output: CounterSeries }>();
  private costSeries: CounterSeries | undefined;
  private readonly limitSeries = new Map<string, CounterSeries>();

  constructor(
    private readonly instruments: Instruments,
    private readonly key: string,
    private readonly attributes: Attributes,
  ) {}

  /** `reason` is set exactly when the request failed, so status and reason determine the decision. */
  requests(decision: Decision, status: number, reason: string | undefined): CounterSeries {
    let byReason = this.requestSeries.get(status);
    if (byReason === undefined) {
      byReason = new Map();
      this.requestSeries.set(status, byReason);
    }
    const reasonKey = reason ?? "";
    let series = byReason.get(reasonKey);
    if (series === undefined) {
      const attributes = this.attributes;
      series = this.instruments.requests.series(`${this.key}|${decision}|${status}|${reasonKey}`, () => ({
        ...attributes,
        [ATTR.decision]: decision,
        [ATTR.httpStatus]: status,
        ...(reason === undefined ? {} : { [ATTR.reason]: reason }),
      }));
      byReason.set(reasonKey, series);
    }
    return series;
  }

  duration(decision: Decision): HistogramSeries {
    let series = this.durationSeries.get(decision);
    if (series === undefined) {
      const attributes = this.attributes;
      series = this.instruments.requestDuration.series(`${this.key}|${decision}`, () => ({ ...attributes, [ATTR.decision]: decision }));
      if (DECISIONS.includes(decision)) this.durationSeries.set(decision, series);
    }
    return series;
  }

  tokens(system: string): { readonly input: CounterSeries; readonly output: CounterSeries } {
    let pair = this.tokenSeries.get(system);
    if (pair === undefined) {
      const attributes = this.attributes;
      const of = (type: string) => (): Attributes => ({ ...attributes, [ATTR.genAiTokenType]: type, ...(system === "" ? {} : { [ATTR.genAiSystem]: system }) });
      pair = { input: this.instruments.tokens.series(`${this.key}|${system}|input`, of("input")), output: this.instruments.tokens.series(`${this.key}|${system}|output`, of("output")) };
      this.tokenSeries.set(system, pair);
    }
    return pair;
  }

  cost(): CounterSeries {
    const attributes = this.attributes;
    this.costSeries ??= this.instruments.cost.series(this.key, () => ({ ...attributes }));
    return this.costSeries;
  }

  limitRejections(reason: string, kind: string): CounterSeries {
    let series = this.limitSeries.get(reason);
    if (series === undefined) {
      const attributes = this.attributes;
      series = this.instruments.limitRejections.series(`${this.key}|${reason}`, () => ({ ...attributes, [ATTR.limitKind]: kind, [ATTR.reason]: reason }));
      this.limitSeries.set(reason, series);
    }
    return series;
  }
}

/**
 * One stage of a sampled request. Its span is made when the request ends, from the times recorded
 * here: the SDK then runs once per request in a tight burst instead of between every stage, which
 * measured several times cheaper (docs/observability.md).
 */
class StageTimer implements StageHandle {
  endedAtInMs = -1;
  error: unknown = undefined;
  constructor(
    private readonly clock: Clock,
    readonly stage: GatewayStage,
    readonly startedAtInMs: number,
  ) {}

  end(error?: unknown): void {
    if (this.endedAtInMs >= 0) return;
    this.endedAtInMs = this.clock.nowInMs();
    this.error = error;
  }
}

/** One request: traced when `parent` is given (sampled), else metrics only — no tracer call at all. */
class TracedRequest implements RequestTelemetry {
  readonly traceId: string | undefined;
  private readonly root: Span | null;
  /** False when the sampler dropped this trace: then no child span is made at all (metrics still are). */
  private readonly recording: boolean;
  private readonly context: Context;
  private readonly startedAtInMs: number;
  private attempts = 0;
  private ended = false;
  /** Sampled requests only: made on the first stage. */
  private stages: StageTimer[] | null = null;

  constructor(
    private readonly options: OtelGatewayTelemetryOptions,
    private readonly series: SeriesCache,
    parent: Context | null,
    private readonly callerTraceparent: string | undefined,
    callerTraceId: string | undefined,
  ) {
    this.startedAtInMs = options.clock.nowInMs();
    if (parent === null) {
      this.root = null;
      this.recording = false;
      this.context = ROOT_CONTEXT;
      this.traceId = callerTraceId;
      return;
    }
    this.root = options.tracer.startSpan(ROOT_SPAN_NAME, { kind: SpanKind.SERVER, startTime: this.startedAtInMs, attributes: ROOT_ATTRIBUTES }, parent);
    this.recording = this.root.isRecording();
    this.context = trace.setSpan(parent, this.root);
    // The SDK always makes valid ids; only the API's no-op tracer (no SDK) returns the invalid context.
    const own = this.root.spanContext();
    this.traceId = own.traceId === INVALID_TRACEID ? callerTraceId : own.traceId;
  }

  begin(stage: GatewayStage): StageHandle {
    // Unsampled requests skip stages altogether: their cost is what keeps telemetry in budget.
    if (!this.recording) return NO_STAGE;
    const timer = new StageTimer(this.options.clock, stage, this.options.clock.nowInMs());
    (this.stages ??= []).push(timer);
    return timer;
  }

  /** The stage spans and latency samples of a sampled request, made in one burst at its end. */
  private emitStages(): void {
    const { tracer } = this.options;
    const stages = this.stages;
    if (stages === null) return;
    this.stages = null;
    for (const timer of stages) {
      if (timer.endedAtInMs < 0) continue;
      const { stage, startedAtInMs, endedAtInMs, error } = timer;
      const span = tracer.startSpan(STAGE_SPAN_NAMES[stage], { kind: SpanKind.INTERNAL, startTime: startedAtInMs, attributes: STAGE_SPAN_ATTRIBUTES[stage] }, this.context);
      if (error !== undefined) markFailed(span, error);
      span.end(endedAtInMs);
      const series = this.series.stages[stage];
      (error === undefined ? series.ok : series.error).record(endedAtInMs - startedAtInMs);
    }
  }

  stage<T>(stage: GatewayStage, run: () => Promise<T>): Promise<T> {
    // Not an async function: unsampled, the stage costs one branch and no extra promise.
    if (!this.recording) return run();
    return this.timedStage(stage, run);
  }

  private async timedStage<T>(stage: GatewayStage, run: () => Promise<T>): Promise<T> {
    const handle = this.begin(stage);
    try {
      const result = await run();
      handle.end();
      return result;
    } catch (error) {
      handle.end(error);
      throw error;
    }
  }

  stageSync<T>(stage: GatewayStage, run: () => T): T {
    if (!this.recording) return run();
    const handle = this.begin(stage);
    try {
      const result = run();
      handle.end();
      return result;
    } catch (error) {
      handle.end(error);
      throw error;
    }
  }

  attempt<T>(endpoint: EndpointPolicy, deployment: string, run: (traceparent: string | undefined) => Promise<T>, describe?: (result: T) => AttemptResult): Promise<T> {
    if (this.recording) return this.tracedAttempt(endpoint, deployment, run, describe);
    this.attempts += 1;
    // Unsampled, the upstream still learns the trace (and that it is not sampled) from the root.
    return run(this.rootTraceparent).then(
      (result) => {
        this.countAttempt(endpoint, "success");
        return result;
      },
      (error: unknown) => {
        this.countAttempt(endpoint, errorCodeOf(error));
        throw error;
      },
    );
  }

  private async tracedAttempt<T>(endpoint: EndpointPolicy, deployment: string, run: (traceparent: string | undefined) => Promise<T>, describe?: (result: T) => AttemptResult): Promise<T> {
    const attempt = ++this.attempts;
    const startedAtInMs = this.options.clock.nowInMs();
    const span = this.options.tracer.startSpan(
        `chat ${deployment}`,
        {
          kind: SpanKind.CLIENT,
          startTime: startedAtInMs,
          attributes: {
            [ATTR.genAiSystem]: genAiSystemOf(endpoint),
            [ATTR.genAiOperation]: "chat",
            [ATTR.genAiRequestModel]: deployment,
            [ATTR.serverAddress]: serverAddressOf(endpoint),
            [ATTR.endpointClass]: endpoint.class,
            [ATTR.endpointId]: endpoint.id,
            [ATTR.region]: endpoint.region,
            [ATTR.attempt]: attempt,
            [ATTR.stage]: "upstream",
          },
        },
        this.context,
      );
    const traceparent = formatTraceparent(span.spanContext());
    let result: T;
    try {
      result = await run(traceparent);
    } catch (error) {
      this.attemptEnded(endpoint, span, startedAtInMs, error);
      throw error;
    }
    if (describe !== undefined) {
      const { responseModel, usage } = describe(result);
      const model = safeModelName(responseModel);
      if (model !== undefined) span.setAttribute(ATTR.genAiResponseModel, model);
      if (usage) span.setAttributes({ [ATTR.genAiInputTokens]: usage.promptTokens, [ATTR.genAiOutputTokens]: usage.completionTokens });
    }
    this.attemptEnded(endpoint, span, startedAtInMs, undefined);
    return result;
  }

  private attemptEnded(endpoint: EndpointPolicy, span: Span, startedAtInMs: number, error: unknown): void {
    const failed = error !== undefined;
    const endedAtInMs = this.options.clock.nowInMs();
    if (failed) markFailed(span, error);
    span.end(endedAtInMs);
    const series = this.series.stages.upstream;
    (failed ? series.error : series.ok).record(endedAtInMs - startedAtInMs);
    this.countAttempt(endpoint, failed ? errorCodeOf(error) : "success");
  }

  private countAttempt(endpoint: EndpointPolicy, outcome: string): void {
    this.series.attempt(endpoint, outcome).value += 1;
  }

  /** What an unsampled request sends upstream: the caller's trace context, as it came. */
  private get rootTraceparent(): string | undefined {
    if (this.root === null) return this.callerTraceparent;
    const own = this.root.spanContext();
    return own.traceId === INVALID_TRACEID ? this.callerTraceparent : formatTraceparent(own);
  }

  failover(from: EndpointPolicy, to: EndpointPolicy, reason: FailureKind): void {
    const attributes = (): Attributes => ({ [ATTR.endpointId]: from.id, [ATTR.region]: from.region, [ATTR.failoverToEndpoint]: to.id, [ATTR.failoverToRegion]: to.region, [ATTR.reason]: reason });
    this.series.instruments.failovers.add(`${from.id}|${to.id}|${reason}`, 1, attributes);
    if (this.recording) this.root?.addEvent("palisade.failover", attributes(), this.options.clock.nowInMs());
  }

  auditPublishFailed(project: string | undefined): void {
    this.series.instruments.auditPublishFailures.add(project ?? "", 1, () => (project === undefined ? {} : { [ATTR.project]: project }));
  }

  end(summary: RequestSummary): void {
    if (this.ended) return;
    this.ended = true;
    const endedAtInMs = this.options.clock.nowInMs();
    const failed = summary.error !== undefined && summary.error !== null;
    const reason = failed ? errorCodeOf(summary.error) : undefined;
    const decision: Decision = !failed ? "served" : summary.status < 500 ? "blocked" : "error";
    const { project, model, endpoint, usage } = summary;
    const status = summary.status;

    const scope = this.series.scope(project, model);
    scope.requests(decision, status, reason).value += 1;
    scope.duration(decision).record(endedAtInMs - this.startedAtInMs);
    if (usage) {
      const tokens = scope.tokens(endpoint === undefined ? "" : genAiSystemOf(endpoint));
      tokens.input.value += usage.promptTokens;
      tokens.output.value += usage.completionTokens;
    }
    if (summary.costUsd !== undefined && summary.costUsd > 0) scope.cost().value += summary.costUsd;
    this.countFindings(project, summary.inputFindings, "input", summary.dlpAction ?? "allow");
    this.countFindings(project, summary.outputFindings, "output", summary.outputDlpAction ?? "allow");
    const limitKind = reason === undefined ? undefined : LIMIT_KINDS[reason];
    if (limitKind !== undefined && reason !== undefined) scope.limitRejections(reason, limitKind).value += 1;

    const root = this.root;
    if (root === null) return;
    if (this.recording) {
      this.emitStages();
      // One literal of fixed shape (unset values are skipped by the SDK): much cheaper than adding
      // dotted keys one by one, which turns the object into a slow dictionary.
      const responseModel = safeModelName(summary.responseModel);
      const attributes: Attributes = {
        [ATTR.project]: project,
        [ATTR.genAiRequestModel]: model,
        [ATTR.decision]: decision,
        [ATTR.httpStatus]: status,
        [ATTR.reason]: reason,
        [ATTR.errorType]: reason,
        [ATTR.dataClass]: summary.dataClass,
        [ATTR.cache]: summary.cache,
        [ATTR.attempts]: summary.attempts,
        [ATTR.streamed]: summary.streamed === true ? true : undefined,
        [ATTR.abandoned]: summary.abandoned === true ? true : undefined,
        [ATTR.costUsd]: summary.costUsd,
        [ATTR.genAiSystem]: endpoint === undefined ? undefined : genAiSystemOf(endpoint),
        [ATTR.serverAddress]: endpoint === undefined ? undefined : serverAddressOf(endpoint),
        [ATTR.endpointId]: endpoint?.id,
        [ATTR.endpointClass]: endpoint?.class,
        [ATTR.region]: endpoint?.region,
        [ATTR.genAiResponseModel]: responseModel,
        [ATTR.genAiInputTokens]: usage ? usage.promptTokens : undefined,
        [ATTR.genAiOutputTokens]: usage ? usage.completionTokens : undefined,
        [ATTR.dlpAction]: summary.dlpAction,
        [ATTR.contentSafety]: summary.contentSafety,
      };
      setCounts(root, DLP_INPUT_KEYS, summary.inputFindings);
      setCounts(root, DLP_OUTPUT_KEYS, summary.outputFindings);
      if (reason !== undefined) root.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      root.setAttributes(attributes);
    }
    root.end(endedAtInMs);
  }

  private countFindings(project: string | undefined, counts: FindingCountsByType | undefined, direction: "input" | "output", action: string): void {
    if (counts === undefined) return;
    for (const type in counts) {
      const count = counts[type];
      if (count === undefined || count <= 0 || !ENTITY_TYPE.has(type)) continue;
      this.series.instruments.dlpFindings.add(`${project ?? ""}|${type}|${direction}|${action}`, count, () => ({
        ...(project === undefined ? {} : { [ATTR.project]: project }),
        [ATTR.dlpEntityType]: type,
        [ATTR.dlpDirection]: direction,
        [ATTR.dlpAction]: action,
      }));
    }
  }
}

const NO_STAGE: StageHandle = { end: () => undefined };

/** Only the detector's own type names become attribute keys or values. */
const ENTITY_TYPE: ReadonlySet<string> = new Set(ENTITY_TYPES);

/** Attribute keys per entity type, made once (the types are a fixed set). */
const countKeys = (prefix: string): ReadonlyMap<string, string> => new Map(ENTITY_TYPES.map((type) => [type, prefix + type]));
const DLP_INPUT_KEYS = countKeys(ATTR.dlpFindingsPrefix);
const DLP_OUTPUT_KEYS = countKeys(ATTR.dlpOutputFindingsPrefix);

function setCounts(span: Span, keys: ReadonlyMap<string, string>, counts: FindingCountsByType | undefined): void {
  if (counts === undefined) return;
  for (const type in counts) {
    const count = counts[type];
    const key = keys.get(type);
    if (key !== undefined && count !== undefined && count > 0) span.setAttribute(key, count);
  }
}

function markFailed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const code = errorCodeOf(error);
  span.setAttribute(ATTR.errorType, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}
