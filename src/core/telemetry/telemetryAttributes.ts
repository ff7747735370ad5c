import { isPalisadeError } from "../errors.js";
import { type EndpointPolicy } from "../policy/schema.js";
import { isUpstreamError } from "../upstream/CompletionProvider.js";

/** Attribute names: OpenTelemetry GenAI semantic conventions where they exist, `palisade.*` otherwise. */
export const ATTR = {
  genAiSystem: "gen_ai.system",
  genAiOperation: "gen_ai.operation.name",
  genAiRequestModel: "gen_ai.request.model",
  genAiResponseModel: "gen_ai.response.model",
  genAiInputTokens: "gen_ai.usage.input_tokens",
  genAiOutputTokens: "gen_ai.usage.output_tokens",
  genAiTokenType: "gen_ai.token.type",
  serverAddress: "server.address",
  httpStatus: "http.response.status_code",
  errorType: "error.type",
  project: "palisade.project",
  dataClass: "palisade.data_class",
  endpointClass: "palisade.endpoint_class",
  endpointId: "palisade.endpoint.id",
  region: "palisade.region",
  decision: "palisade.decision",
  reason: "palisade.reason",
  stage: "palisade.stage",
  outcome: "palisade.outcome",
  cache: "palisade.cache",
  attempts: "palisade.attempts",
  attempt: "palisade.attempt",
  costUsd: "palisade.cost_usd",
  streamed: "palisade.streamed",
  abandoned: "palisade.stream.abandoned",
  dlpAction: "palisade.dlp.action",
  dlpDirection: "palisade.dlp.direction",
  dlpEntityType: "palisade.dlp.entity_type",
  dlpFindingsPrefix: "palisade.dlp.findings.",
  dlpOutputFindingsPrefix: "palisade.dlp.output_findings.",
  contentSafety: "palisade.content_safety.action",
  limitKind: "palisade.limit.kind",
  failoverToEndpoint: "palisade.failover.to_endpoint",
  failoverToRegion: "palisade.failover.to_region",
  credentialKind: "palisade.credential.kind",
  credentialId: "palisade.credential.id",
} as const;

/** Metric names. */
export const METRIC = {
  requests: "palisade.requests",
  requestDuration: "palisade.request.duration",
  tokens: "palisade.tokens",
  cost: "palisade.cost",
  stageDuration: "palisade.stage.duration",
  dlpFindings: "palisade.dlp.findings",
  limitRejections: "palisade.limit.rejections",
  upstreamAttempts: "palisade.upstream.attempts",
  failovers: "palisade.upstream.failovers",
  breakerState: "palisade.endpoint.breaker_state",
  auditPublishFailures: "palisade.audit.publish_failures",
  outboxStored: "palisade.audit.outbox.stored",
  outboxDrained: "palisade.audit.outbox.drained",
  daysToExpiry: "palisade.credential.days_to_expiry",
} as const;

export type Decision = "served" | "blocked" | "error";

/** `gen_ai.system` for an endpoint's provider. */
export function genAiSystemOf(endpoint: Pick<EndpointPolicy, "provider">): string {
  return endpoint.provider === "azure" ? "az.ai.openai" : "openai";
}

const hosts = new WeakMap<object, string>();

/** The endpoint's host name (`server.address`), parsed once per endpoint object. */
export function serverAddressOf(endpoint: Pick<EndpointPolicy, "baseUrl">): string {
  let host = hosts.get(endpoint);
  if (host === undefined) {
    try {
      host = new URL(endpoint.baseUrl).hostname;
    } catch {
      host = "unknown";
    }
    hosts.set(endpoint, host);
  }
  return host;
}

const MODEL_NAME = /^[\w.:/-]{1,100}$/;

/** A model name the upstream reported, kept only when it looks like one (it is upstream input). */
export function safeModelName(value: unknown): string | undefined {
  return typeof value === "string" && MODEL_NAME.test(value) ? value : undefined;
}

/** A stable code for an error: a PalisadeError's code, an upstream error's kind, else `internal_error`. Never a message. */
export function errorCodeOf(error: unknown): string {
  if (isPalisadeError(error)) return error.code;
  if (isUpstreamError(error)) return error.kind;
  return "internal_error";
}
