import { type Attributes } from "@opentelemetry/api";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type GatewayStage } from "../../core/telemetry/GatewayTelemetry.js";
import { ATTR, type Decision } from "../../core/telemetry/telemetryAttributes.js";
import { type CounterSeries, type PreAggregatedCounter } from "./PreAggregatedCounter.js";
import { type HistogramSeries, type PreAggregatedHistogram } from "./PreAggregatedHistogram.js";
import { STAGE_METRIC_ATTRIBUTES, perStage } from "./stageTelemetryAttributes.js";

/** The instruments a request records into; created once per meter. Counters and histograms are aggregated in process. */
export interface Instruments {
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


/** Most (project, model) pairs cached; beyond that (a policy with thousands of models) series are looked up by key. */
const MAX_CACHED_SCOPES = 2_000;

/**
 * The series a request records into, resolved once and kept: an unsampled request's metrics are a few
 * Map lookups on strings it already holds (policy ids, which keep their hash) and `+=` on handles — no
 * key strings, attribute objects or closures per request.
 */
export class SeriesCache {
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
export class ScopeSeries {
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

