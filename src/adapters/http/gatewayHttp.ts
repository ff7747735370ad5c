import { type HttpRequest, type HttpResponseInit, type TraceContext } from "@azure/functions";
import { requestedProjectFromHeaders } from "../../core/auth/authorize.js";
import { type GatewayRequest, type GatewayResponse } from "../../core/gateway/GatewayRequest.js";
import { clientAddress } from "../../core/network/clientAddress.js";
import { parseTraceparent } from "../../core/telemetry/traceContext.js";
import { ReadableStream } from "node:stream/web";

const header = (request: HttpRequest, name: string): string | null => request.headers.get(name);

/** Accepts a caller's `x-request-id` only when it is a plain token, so it cannot inject into logs. */
export function requestIdFor(request: HttpRequest, newId: () => string): string {
  const offered = header(request, "x-request-id");
  return offered && /^[\w.:-]{8,128}$/.test(offered) ? offered : newId();
}

/** W3C: at most 32 list members of at most 256 characters; printable ASCII only, so it cannot break a header. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/**
 * The trace context the request's spans continue: the Functions invocation's (`context.traceContext`,
 * set by the host with `telemetryMode: OpenTelemetry`: its own request span, itself a child of the
 * caller's `traceparent`), else the caller's header. A malformed invocation context falls back too.
 * The `tracestate` comes from the same source, kept only when it is a plain printable value of at
 * most 512 characters, and never without a `traceparent`.
 */
export function traceContextFor(request: HttpRequest, traceContext: TraceContext | undefined): { traceparent: string | undefined; tracestate: string | undefined } {
  const invocation = traceContext?.traceParent;
  const fromInvocation = invocation !== undefined && invocation !== null && parseTraceparent(invocation) !== null;
  const traceparent = fromInvocation ? invocation : (header(request, "traceparent") ?? undefined);
  const state = fromInvocation ? traceContext?.traceState : header(request, "tracestate");
  const tracestate = traceparent !== undefined && typeof state === "string" && TRACESTATE.test(state.trim()) ? state.trim() : undefined;
  return { traceparent, tracestate };
}

/** Picks from the HTTP request what the gateway needs; the body is read separately. */
export function gatewayRequestOf(request: HttpRequest, requestId: string, trustedProxyHops: number, body: unknown, traceContext?: TraceContext): GatewayRequest {
  const trace = traceContextFor(request, traceContext);
  return {
    requestId,
    authorization: header(request, "authorization"),
    apiKey: header(request, "api-key"),
    requestedProject: requestedProjectFromHeaders((name) => header(request, name)),
    dataClassHeader: header(request, "x-data-classification") ?? undefined,
    residencyHeader: header(request, "x-palisade-residency") ?? undefined,
    // The Functions worker never sees the socket. App Service's front end writes the connection's
    // address into `client-ip` (overwriting any the caller sent) and appends it to x-forwarded-for;
    // the policy says how many x-forwarded-for hops to trust (0: the connection itself).
    clientIp: clientAddress({ remoteAddress: header(request, "client-ip"), forwardedFor: header(request, "x-forwarded-for") ?? undefined, trustedProxyHops }),
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    subjectHeader: header(request, "x-palisade-subject") ?? undefined,
    body,
  };
}

/**
 * Maps the gateway's answer to the Functions response: JSON, or SSE streamed as it is produced.
 *
 * A stream's frames are pulled one at a time. The controller is touched only while the stream is
 * open: a frame that arrives after the caller went away is dropped (enqueueing into a cancelled
 * stream throws). An error the frames throw after the headers have gone out (the gateway turns its
 * known failures into error frames itself) ends the stream with an OpenAI error frame rather than
 * a cut connection, and is handed to `onStreamError` to be logged.
 */
export function toHttpResponse(response: GatewayResponse, onStreamError: (error: unknown) => void = () => undefined): HttpResponseInit {
  if (response.kind === "json") {
    return { status: response.status, headers: { "content-type": "application/json", ...response.headers }, jsonBody: response.body };
  }
  const encoder = new TextEncoder();
  const iterator = response.events[Symbol.asyncIterator]();
  const requestId = response.headers["x-request-id"] ?? "unknown";
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // The next frame, and whether it is the last; a throw becomes a last, error frame. Read here
      // rather than through a helper: no object and no extra promise for each of a stream's frames.
      let frame: string | null = null;
      let last = false;
      try {
        const next = await iterator.next();
        if (next.done === true) last = true;
        else frame = next.value;
      } catch (error) {
        onStreamError(error);
        frame = streamFailureFrame(requestId);
        last = true;
      }
      if (!open) return;
      if (frame !== null) controller.enqueue(encoder.encode(frame));
      if (last) {
        open = false;
        controller.close();
      }
    },
    async cancel() {
      open = false;
      await iterator.return?.();
    },
  });
  return {
    status: response.status,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no", ...response.headers },
    body,
  };
}

/** The error frame for a failure nobody expected, in the shape the OpenAI SDK raises mid-stream. */
function streamFailureFrame(requestId: string): string {
  const message = `Palisade could not complete the request. Quote request id ${requestId} when reporting it.`;
  return `data: ${JSON.stringify({ error: { message, type: "api_error", code: "internal_error", param: null } })}\n\n`;
}
