import { type HttpRequestInit, type TraceContext } from "@azure/functions";
import { randomBytes } from "node:crypto";
import { type IncomingMessage } from "node:http";
import { HttpRequest } from "./functionsRuntime.js";
import { type RequestBody } from "./requestBody.js";

// What the local host makes of an incoming request for a function, as the Azure worker does.

const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/**
 * The invocation's trace context, as the Functions host (`telemetryMode: OpenTelemetry`) makes it: the
 * host's own span for the invocation, a child of the caller's `traceparent` (same trace, new span id,
 * the caller's sampled flag), or the root of a new, sampled trace when the caller sent none (or a
 * malformed one).
 */
export function invocationTraceContext(traceparent: string | string[] | undefined): TraceContext {
  const match = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent) : null;
  const callerTraceId = match?.[1];
  const continues = callerTraceId !== undefined && !/^0+$/.test(callerTraceId) && !/^0+$/.test(match?.[2] ?? "0");
  const traceId = continues ? callerTraceId : randomBytes(16).toString("hex");
  const flags = continues ? (Number.parseInt(match?.[3] ?? "01", 16) & 1 ? "01" : "00") : "01";
  return { traceParent: `00-${traceId}-${randomBytes(8).toString("hex")}-${flags}`, traceState: "", attributes: {} };
}

export function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  // App Service's front end writes the connection's address and port into `client-ip`, overwriting
  // whatever the caller sent, and appends the address to x-forwarded-for; do the same, so the app
  // finds the caller where it will find it in Azure.
  const remote = request.socket.remoteAddress ?? "";
  const port = request.socket.remotePort;
  headers["client-ip"] = port === undefined ? remote : remote.includes(":") ? `[${remote}]:${port}` : `${remote}:${port}`;
  headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${remote}` : remote;
  return headers;
}

/**
 * The function's request. A streamed body goes in as the Azure worker passes it with HTTP streams on
 * (a fetch `Request` over the incoming stream, `duplex: "half"`), so the function reads it as it comes.
 */
export function requestFor(method: string, url: RequestUrl, headers: Record<string, string>, params: Record<string, string>, body: RequestBody): HttpRequest {
  if (body.kind !== "stream") {
    return new HttpRequest({ method, url: url.href, headers, query: url.query(), params, ...(body.kind === "bytes" && body.bytes.byteLength > 0 ? { body: { bytes: body.bytes } } : {}) });
  }
  const nativeRequest = new Request(url.href, { method, headers, body: body.stream as unknown as RequestInit["body"], duplex: "half" } as RequestInit);
  const init: HttpRequestInit & { readonly nativeRequest: Request } = { method, url: url.href, params, nativeRequest };
  return new HttpRequest(init);
}

export interface RequestUrl {
  readonly href: string;
  readonly pathname: string;
  query(): Record<string, string>;
}

/** A path `new URL` would leave as it is: no dot segments, no percent-encoding, no backslashes. */
const PLAIN_PATH = /^(?:\/[\w~-][\w.~-]*)*\/?$/;
const PLAIN_HOST = /^[\w.-]+(?::\d{1,5})?$/;

/**
 * The request's URL as `new URL` would give it; plain paths and hosts (every request the gateway
 * serves) skip the URL parser, since `HttpRequest` parses the URL again anyway.
 */
export function requestUrl(request: IncomingMessage): RequestUrl {
  const raw = request.url ?? "/";
  const host = request.headers.host ?? "127.0.0.1";
  const queryAt = raw.indexOf("?");
  const path = queryAt < 0 ? raw : raw.slice(0, queryAt);
  if (PLAIN_PATH.test(path) && PLAIN_HOST.test(host)) {
    return {
      href: `http://${host}${raw}`,
      pathname: path,
      query: () => (queryAt < 0 ? {} : Object.fromEntries(new URLSearchParams(raw.slice(queryAt + 1)))),
    };
  }
  const url = new URL(raw, `http://${host}`);
  return { href: url.toString(), pathname: url.pathname, query: () => Object.fromEntries(url.searchParams) };
}
