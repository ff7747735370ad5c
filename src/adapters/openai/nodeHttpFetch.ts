import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type ClientOptions } from "openai";

/** The `fetch` the openai SDK accepts. */
export type SdkFetch = NonNullable<ClientOptions["fetch"]>;

export interface NodeHttpFetchOptions {
  /** How long an idle keep-alive socket is kept (undici's default is 4 s). */
  readonly idleSocketTimeoutInMs?: number;
}

/** Statuses whose Response must not have a body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for the openai SDK on node:http/node:https with keep-alive agents, instead of the global
 * (undici) fetch, whose Request, AbortSignal and web-stream machinery cost more CPU per call than the
 * rest of the upstream call together. It returns a standard `Response`:
 *
 * - `text/event-stream` answers get a web stream fed from the socket as chunks arrive (incremental).
 * - Any other answer is read whole before the promise resolves (the SDK reads it whole anyway), so the
 *   SDK's timeout covers the body too and a body cut short is a connection failure.
 *
 * Errors mirror undici's, which the SDK classifies: a failure before the answer rejects with
 * `TypeError("fetch failed", { cause })` (SDK: connection error); an abort rejects, or errors the body,
 * with the signal's reason (an `AbortError`; SDK: timeout, or a quiet end of a stream it cancelled); a
 * stream cut mid-way errors the body with `TypeError("terminated")`. Anything it cannot handle (a
 * `Request` object, a streamed request body, another protocol) goes to the global fetch.
 */
export function createNodeHttpFetch(options: NodeHttpFetchOptions = {}): SdkFetch {
  const timeout = options.idleSocketTimeoutInMs ?? 4_000;
  const httpAgent = new HttpAgent({ keepAlive: true, timeout, scheduling: "lifo" });
  const httpsAgent = new HttpsAgent({ keepAlive: true, timeout, scheduling: "lifo" });

  return function nodeHttpFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const body = init?.body;
    if (typeof input !== "string" && !(input instanceof URL)) return fetch(input, init);
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) return fetch(input, init);
    const url = typeof input === "string" ? new URL(input) : input;
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") return fetch(input, init);

    const signal = init?.signal ?? null;
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    const headers: Record<string, string> = {};
    const given = init?.headers;
    if (given) (given instanceof Headers ? given : new Headers(given)).forEach((value, name) => (headers[name] = value));
    if (body !== undefined && body !== null) headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);

    return new Promise<Response>((resolve, reject) => {
      const options = {
        hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: init?.method ?? "GET",
        headers,
        agent: secure ? httpsAgent : httpAgent,
      };
      const outgoing: ClientRequest = secure ? httpsRequest(options) : httpRequest(options);
      // Until the answer is handed over, failures reject; afterwards they error the body stream.
      let settled = false;
      let failBody: ((error: unknown) => void) | null = null;
      const onAbort = (): void => {
        const reason = signal ? abortReason(signal) : new DOMException("This operation was aborted", "AbortError");
        outgoing.destroy();
        if (!settled) {
          settled = true;
          reject(reason);
        } else failBody?.(reason);
      };
      const done = (): void => signal?.removeEventListener("abort", onAbort);
      signal?.addEventListener("abort", onAbort, { once: true });

      outgoing.on("error", (error) => {
        if (!settled) {
          settled = true;
          done();
          reject(new TypeError("fetch failed", { cause: error }));
        } else failBody?.(new TypeError("terminated", { cause: error }));
      });
      outgoing.on("response", (incoming: IncomingMessage) => {
        const status = incoming.statusCode ?? 0;
        const init: ResponseInit = { status, statusText: incoming.statusMessage ?? "", headers: headerPairs(incoming.rawHeaders) };
        if (status < 200 || status > 599) {
          settled = true;
          done();
          incoming.destroy();
          reject(new TypeError("fetch failed", { cause: new RangeError(`unexpected status ${status}`) }));
          return;
        }
        if (NULL_BODY_STATUSES.has(status)) {
          incoming.resume();
          settled = true;
          done();
          resolve(new Response(null, init));
          return;
        }
        if (isEventStream(incoming.headers["content-type"])) {
          settled = true;
          resolve(new Response(streamOf(incoming, outgoing, done, (fail) => (failBody = fail)), init));
          return;
        }
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("end", () => {
          if (settled) return;
          settled = true;
          done();
          const bytes = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
          resolve(new Response(new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength), init));
        });
        incoming.on("error", () => undefined); // "close" below reports it
        incoming.on("close", () => {
          if (settled || incoming.complete) return;
          settled = true;
          done();
          reject(new TypeError("fetch failed", { cause: new Error("the connection closed before the answer was complete") }));
        });
      });
      outgoing.end(body ?? undefined);
    });
  };
}

/**
 * A web stream over the answer, as its chunks arrive; pauses the socket when the reader lags.
 *
 * The controller is touched only while the stream is open: once it has ended, failed or been
 * cancelled (the reader went away), the socket listeners are removed and the socket destroyed, so a
 * chunk, an `end` or an error the socket still delivers can never reach a closed controller (which
 * would throw `ERR_INVALID_STATE` from an event handler and take the process down).
 */
function streamOf(incoming: IncomingMessage, outgoing: ClientRequest, done: () => void, onFail: (fail: (error: unknown) => void) => void): ReadableStream<Uint8Array> {
  let open = true;
  let detach = (): void => undefined;
  /** Runs `settle` on the controller once, if the stream is still open, then lets go of the socket. */
  const finish = (settle?: () => void): void => {
    if (!open) return;
    open = false;
    done();
    detach();
    settle?.();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown): void => finish(() => controller.error(error));
      const onData = (chunk: Buffer): void => {
        if (!open) return;
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
      };
      const onEnd = (): void => finish(() => controller.close());
      const onClose = (): void => {
        if (!incoming.complete) fail(new TypeError("terminated"));
      };
      const onError = (error: Error): void => fail(new TypeError("terminated", { cause: error }));
      detach = () => {
        incoming.off("data", onData);
        incoming.off("end", onEnd);
        incoming.off("close", onClose);
        incoming.off("error", onError);
        // A late socket error has no one left to tell; a listener keeps it from being thrown.
        incoming.on("error", ignore);
      };
      onFail(fail);
      incoming.on("data", onData);
      incoming.on("end", onEnd);
      incoming.on("close", onClose);
      incoming.on("error", onError);
    },
    pull() {
      if (open) incoming.resume();
    },
    cancel() {
      finish();
      incoming.destroy();
      outgoing.destroy();
    },
  });
}

function ignore(): void {
  // deliberately nothing: see the callers
}

function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) pairs.push([raw[index] ?? "", raw[index + 1] ?? ""]);
  return pairs;
}

function isEventStream(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.trimStart().toLowerCase().startsWith("text/event-stream");
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError");
}
