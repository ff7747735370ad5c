import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, INVALID_TRACEID, trace } from "@opentelemetry/api";
import { type Clock } from "../../core/clock.js";
import { ENTITY_TYPES } from "../../core/dlp/types.js";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type FailureKind } from "../../core/routing/EndpointHealth.js";
import { type AttemptResult, type FindingCountsByType, type GatewayStage, type RequestSummary, type RequestTelemetry, type StageHandle } from "../../core/telemetry/GatewayTelemetry.js";
import { ATTR, type Decision, errorCodeOf, genAiSystemOf, safeModelName, serverAddressOf } from "../../core/telemetry/telemetryAttributes.js";
import { formatTraceparent } from "../../core/telemetry/traceContext.js";
import { type OtelGatewayTelemetryOptions } from "./OtelGatewayTelemetry.js";
import { type SeriesCache } from "./TelemetrySeries.js";
import { ROOT_ATTRIBUTES, STAGE_SPAN_ATTRIBUTES, STAGE_SPAN_NAMES } from "./stageTelemetryAttributes.js";

export const ROOT_SPAN_NAME = "palisade.chat_completion";

const LIMIT_KINDS: Readonly<Record<string, string>> = { rate_limit_exceeded: "rate", budget_exceeded: "budget" };

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
export class TracedRequest implements RequestTelemetry {
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
