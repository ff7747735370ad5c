import { type IncomingHttpHeaders } from "node:http";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { UpstreamError, type UpstreamErrorDetail, plainToken } from "../../core/upstream/CompletionProvider.js";
import { UpstreamHttpFailure } from "./upstreamHttpClient.js";

/**
 * An error answer (any status outside 2xx) in the terms routing needs. Messages name the endpoint,
 * never the request, the key or the upstream's own message (it may quote the prompt).
 */
export function statusError(endpoint: EndpointPolicy, status: number, headers: IncomingHttpHeaders, body: Buffer): UpstreamError {
  if (status === 429) return new UpstreamError("rate_limited", `endpoint ${endpoint.id} is rate limited`, 429, retryAfterInMs(headers));
  if (status === 408) return new UpstreamError("timeout", `endpoint ${endpoint.id} timed out`, 408);
  if (status >= 500) return new UpstreamError("server_error", `endpoint ${endpoint.id} answered ${status}`, status);
  return new UpstreamError("fatal", `endpoint ${endpoint.id} refused the request (${status})`, status, undefined, upstreamDetailOf(errorObjectOf(body)));
}

/** An `{"error": ...}` event inside a stream: the upstream refused to go on (no status: the headers said 200). */
export function streamedError(endpoint: EndpointPolicy, error: unknown): UpstreamError {
  return new UpstreamError("fatal", `endpoint ${endpoint.id} ended the stream with an error`, null, undefined, upstreamDetailOf(error));
}

/**
 * A call that got no answer, or a stream that broke. `otherwise` is what any other error means:
 * before the request left, it says nothing about the endpoint's health (fatal); once a stream was
 * being read, it is the connection's.
 */
export function toUpstreamError(error: unknown, endpoint: EndpointPolicy, otherwise: "fatal" | "connection" = "fatal"): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof UpstreamHttpFailure) {
    if (error.reason === "timeout") return new UpstreamError("timeout", `endpoint ${endpoint.id} timed out`);
    // The caller went away: not the endpoint's fault, so no failover and nothing for its breaker.
    if (error.reason === "aborted") return new UpstreamError("fatal", `the call to endpoint ${endpoint.id} was cancelled`);
    return otherwise === "connection" ? new UpstreamError("connection", `the stream from endpoint ${endpoint.id} broke`) : new UpstreamError("connection", `endpoint ${endpoint.id} could not be reached`);
  }
  if (otherwise === "connection") return new UpstreamError("connection", `the stream from endpoint ${endpoint.id} broke`);
  return new UpstreamError("fatal", `the request to endpoint ${endpoint.id} could not be sent`);
}

function retryAfterInMs(headers: IncomingHttpHeaders): number | undefined {
  const ms = Number(headers["retry-after-ms"]);
  if (Number.isFinite(ms) && ms > 0) return ms;
  const seconds = Number(headers["retry-after"]);
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  return undefined;
}

/** The `error` object of an error answer's JSON body, if it has one. */
function errorObjectOf(body: Buffer): unknown {
  try {
    return (JSON.parse(body.toString("utf8")) as { error?: unknown } | null)?.error;
  } catch {
    return undefined;
  }
}

/** Azure's content filter answers `code: content_filter` (older versions put it in `innererror.code`). Only plain tokens are kept. */
function upstreamDetailOf(error: unknown): UpstreamErrorDetail {
  if (typeof error !== "object" || error === null) return {};
  const fields = error as { code?: unknown; param?: unknown; innererror?: { code?: unknown; content_filter_result?: unknown } | null };
  const code = plainToken(fields.code) ?? plainToken(fields.innererror?.code);
  const param = plainToken(fields.param);
  const contentFilterResult = fields.innererror?.content_filter_result;
  return { ...(code === undefined ? {} : { code }), ...(param === undefined ? {} : { param }), ...(contentFilterResult === undefined ? {} : { contentFilterResult }) };
}
