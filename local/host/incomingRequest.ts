import { type HttpRequestInit, type TraceContext } from "@azure/functions";
import { type IncomingMessage } from "node:http";
import { BufferedRequest } from "./bufferedRequest.js";
import { HttpRequest } from "./functionsRuntime.js";
import { randomHex } from "./randomHex.js";
import { RequestHeaders } from "./requestHeaders.js";
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
  const traceId = continues ? callerTraceId : randomHex(16);
  const flags = continues ? (Number.parseInt(match?.[3] ?? "01", 16) & 1 ? "01" : "00") : "01";
  return { traceParent: `00-${traceId}-${randomHex(8)}-${flags}`, traceState: "", attributes: {} };
}

export function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const incoming = request.headers;
  for (const key of Object.keys(incoming)) {
    const value = incoming[key];
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
 * The function's request: the real `HttpRequest` of `@azure/functions`, over a fetch-like request.
 * A body read whole (or none) goes in as a `BufferedRequest`; a streamed body goes in as the Azure
 * worker passes it with HTTP streams on (a fetch `Request` over the incoming stream, `duplex: "half"`),
 * so the function reads it as it comes.
 */
export function requestFor(method: string, url: RequestUrl, headers: Record<string, string>, params: Record<string, string>, body: RequestBody): HttpRequest {
  const nativeRequest =
    body.kind === "stream"
      ? new Request(url.href, { method, headers, body: body.stream as unknown as RequestInit["body"], duplex: "half" } as RequestInit)
      : (new BufferedRequest(method, url.href, new RequestHeaders(headers), body.kind === "bytes" && body.bytes.byteLength > 0 ? body.bytes : null) as unknown as Request);
  const init: HttpRequestInit & { readonly nativeRequest: Request } = { method, url: url.href, params, ...(body.kind === "stream" ? {} : { query: url.query() }), nativeRequest };
  return new HttpRequest(init);
}

export interface RequestUrl {
  readonly href: string;
  readonly pathname: string;
  query(): Record<string, string>;
}

/**
 * The request's URL, parsed once (~1 µs): the function's request takes its `url` from here as it is
 * (a fetch `Request` would parse it again), so it must be exactly what `new URL` makes of it.
 */
export function requestUrl(request: IncomingMessage): RequestUrl {
  const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "127.0.0.1"}`);
  return { href: url.href, pathname: url.pathname, query: () => (url.search === "" ? {} : Object.fromEntries(url.searchParams)) };
}
