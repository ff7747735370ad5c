import { type HttpResponseInit } from "@azure/functions";
import { randomUUID } from "node:crypto";
import { type ServerResponse } from "node:http";
import { ReadableStream } from "node:stream/web";
import { directAnswer, directStream } from "./directAnswer.js";
import { HttpResponse } from "./functionsRuntime.js";

/** Whether a handler's body is a stream (SSE, say) rather than bytes, a string or JSON. */
function isStreamBody(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body instanceof ReadableStream || Symbol.asyncIterator in body);
}

/**
 * Writes the function's answer as the Functions worker would send it (status, headers and body as
 * `HttpResponse` makes them). A JSON, string or byte body is sent with its length in one write; a
 * streamed body (SSE) is copied chunk by chunk as it is produced, with back-pressure, and cancelled
 * when the caller goes away.
 */
export async function writeResponse(response: ServerResponse, result: HttpResponseInit | HttpResponse | undefined): Promise<void> {
  const direct = result instanceof HttpResponse ? null : directAnswer(result ?? { status: 204 });
  if (direct !== null) {
    if (direct.payload === null) response.writeHead(direct.status, direct.headers).end();
    else response.writeHead(direct.status, direct.headers).end(direct.payload);
    return;
  }
  const streamed = result === undefined || result instanceof HttpResponse ? null : directStream(result);
  if (streamed !== null) {
    response.writeHead(streamed.status, streamed.headers);
    response.flushHeaders();
    await pump(streamed.stream, response);
    return;
  }
  const normalised = result instanceof HttpResponse ? result : new HttpResponse(result ?? { status: 204 });
  const headers: Record<string, string> = {};
  normalised.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const body = normalised.body;
  if (!body) {
    response.writeHead(normalised.status, headers).end();
    return;
  }
  if (!(result instanceof HttpResponse) && !isStreamBody(result?.body)) {
    const payload = Buffer.from(await normalised.arrayBuffer());
    headers["content-length"] = String(payload.byteLength);
    response.writeHead(normalised.status, headers).end(payload);
    return;
  }
  response.writeHead(normalised.status, headers);
  response.flushHeaders();
  await pump(body as ReadableStream<Uint8Array>, response);
}

/**
 * Copies a web stream to the socket as it produces; stops (and cancels the stream, waiting for the
 * cancel to finish) when the caller leaves, also when it left before the copy began. A stream that errors cuts the connection (the
 * app ends its own failures with an error frame; this is for the ones it could not).
 */
async function pump(body: ReadableStream<Uint8Array>, response: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let closed = false;
  // Set from the close listener (a holder, so the compiler does not narrow it to null at the await).
  const cancel: { done: Promise<void> | null } = { done: null };
  const onClose = (): void => {
    closed = true;
    cancel.done = reader.cancel().catch(() => undefined);
  };
  if (response.destroyed) onClose();
  else response.once("close", onClose);
  try {
    while (!closed) {
      const next = await reader.read();
      if (next.done || closed) break;
      if (!response.write(next.value)) await drained(response);
    }
    if (!closed) response.end();
  } catch {
    response.destroy();
  } finally {
    response.off("close", onClose);
    // The cancel runs the app's end of the stream (settling and recording its outcome): the request is over only then.
    if (cancel.done !== null) await cancel.done;
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

/** The host's own refusals (no route, body over 100 MB) in the same shape and headers as the app's. */
export function plainError(response: ServerResponse, status: number, message: string): void {
  const code = status === 404 ? "not_found" : status === 413 ? "request_too_large" : status >= 500 ? "internal_error" : "invalid_request";
  const type = status === 404 ? "not_found_error" : status >= 500 ? "api_error" : "invalid_request_error";
  response.writeHead(status, { "content-type": "application/json", "x-request-id": randomUUID(), "x-ms-error-code": code });
  response.end(JSON.stringify({ error: { message, type, code, param: null } }));
}
