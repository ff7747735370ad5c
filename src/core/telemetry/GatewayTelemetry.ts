import { type DataClass, type DlpAction, type EndpointPolicy } from "../policy/schema.js";
import { type FailureKind } from "../routing/EndpointHealth.js";
import { type CompletionUsage } from "../upstream/CompletionProvider.js";
import { parseTraceparent } from "./traceContext.js";

/** The stages of a governed completion that get a child span and a latency sample. */
export type GatewayStage = "authenticate" | "authorize" | "inspect" | "content_safety" | "route" | "cache" | "limit" | "upstream" | "settle" | "inspect_output" | "audit_publish";

/** Finding counts by entity type; the types are a fixed set, never a detected value. */
export type FindingCountsByType = Readonly<Record<string, number | undefined>>;

/**
 * What a request came to, told once at its end. Ids, classes, counts and codes only: the names of
 * the fields are the whole vocabulary, so no prompt, completion, key or detected value can reach a
 * span or a metric through it.
 */
export interface RequestSummary {
  /** A project id from the policy (never the raw header). */
  readonly project?: string | undefined;
  /** The model as allowlisted by authorization; unset before it (the body is caller input). */
  readonly model?: string | undefined;
  readonly dataClass?: DataClass | undefined;
  readonly inputFindings?: FindingCountsByType | undefined;
  readonly dlpAction?: DlpAction | undefined;
  readonly outputFindings?: FindingCountsByType | undefined;
  readonly outputDlpAction?: DlpAction | undefined;
  /** Content safety's outcome: allow, flag, block or failed_open (a word, never content). */
  readonly contentSafety?: string | undefined;
  readonly endpoint?: EndpointPolicy | undefined;
  /** As the upstream reported it; kept only when it looks like a model name. */
  readonly responseModel?: unknown;
  readonly usage?: CompletionUsage | null | undefined;
  readonly costUsd?: number | undefined;
  readonly cache?: "hit" | "miss" | undefined;
  readonly attempts?: number | undefined;
  readonly streamed?: boolean | undefined;
  /** The caller stopped reading the stream before it ended. */
  readonly abandoned?: boolean | undefined;
  /** The HTTP status the caller got (or, for a stream, would have got). */
  readonly status: number;
  /** Why the request stopped; only its code (PalisadeError) or name is read. */
  readonly error?: unknown;
}

/** What an upstream attempt returned that is worth recording. */
export interface AttemptResult {
  /** The model the upstream says answered; kept only when it looks like a model name. */
  readonly responseModel?: unknown;
  readonly usage?: CompletionUsage | null | undefined;
}

/** One stage in flight. */
export interface StageHandle {
  end(error?: unknown): void;
}

/** The telemetry of one governed completion: its trace, its stages, and its metrics when it ends. */
export interface RequestTelemetry {
  /** The trace id audit events record: this request's trace, else the caller's; undefined without either. */
  readonly traceId: string | undefined;
  begin(stage: GatewayStage): StageHandle;
  stage<T>(stage: GatewayStage, run: () => Promise<T>): Promise<T>;
  stageSync<T>(stage: GatewayStage, run: () => T): T;
  /**
   * One upstream attempt as a CLIENT span. `run` gets the `traceparent` to send upstream: the
   * attempt span's own context, so the upstream's spans hang under this attempt.
   */
  attempt<T>(endpoint: EndpointPolicy, deployment: string, run: (traceparent: string | undefined) => Promise<T>, describe?: (result: T) => AttemptResult): Promise<T>;
  failover(from: EndpointPolicy, to: EndpointPolicy, reason: FailureKind): void;
  /** The audit trail could not take this request's events. */
  auditPublishFailed(project: string | undefined): void;
  /** Ends the request's span and records its metrics. Idempotent: only the first call counts. */
  end(summary: RequestSummary): void;
}

export interface GatewayTelemetry {
  startRequest(traceparent: string | undefined): RequestTelemetry;
}

/** Telemetry off: no spans, no metrics, no attribute objects; only the caller's trace id is kept. */
class UntracedRequest implements RequestTelemetry {
  readonly traceId: string | undefined;
  constructor(private readonly traceparent: string | undefined) {
    this.traceId = parseTraceparent(traceparent)?.traceId;
  }
  begin(): StageHandle {
    return NO_STAGE;
  }
  stage<T>(_stage: GatewayStage, run: () => Promise<T>): Promise<T> {
    return run();
  }
  stageSync<T>(_stage: GatewayStage, run: () => T): T {
    return run();
  }
  attempt<T>(_endpoint: EndpointPolicy, _deployment: string, run: (traceparent: string | undefined) => Promise<T>): Promise<T> {
    return run(this.traceparent);
  }
  failover(): void {}
  auditPublishFailed(): void {}
  end(): void {}
}

const NO_STAGE: StageHandle = { end: () => undefined };

export const untracedGatewayTelemetry: GatewayTelemetry = { startRequest: (traceparent) => new UntracedRequest(traceparent) };
