import { Agent as HttpAgent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type UpstreamTarget } from "./upstreamTarget.js";

export interface UpstreamHttpClientOptions {
  /** How long an idle keep-alive socket is kept (undici's default is 4 s). */
  readonly idleSocketTimeoutInMs?: number;
}

export interface UpstreamPost {
  readonly target: UpstreamTarget;
  /** POST unless said (a stored Response is read with GET and deleted with DELETE, without a body). */
  readonly method?: "POST" | "GET" | "DELETE";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Until the whole answer is in; for a streamed answer, until its headers are. */
  readonly timeoutInMs: number;
  /** The caller's: aborting it closes the connection. */
  readonly signal?: AbortSignal | undefined;
  /** A 2xx answer is handed over as it arrives (an event stream) instead of read whole. */
  readonly streamed: boolean;
}

/** An answer read whole: any error status, and every 2xx of a call that did not ask for a stream. */
export interface WholeAnswer {
  readonly kind: "whole";
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A 2xx answer to a streamed call, read as it arrives. */
export interface StreamedAnswer {
  readonly kind: "stream";
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body as UTF-8 text, read only as fast as it is consumed (the socket is paused in between).
   * Ends quietly when the caller's signal aborts; throws `UpstreamHttpFailure("connection")` when the
   * connection breaks or the body is cut short.
   */
  readonly text: AsyncIterable<string>;
  /** Lets go of the connection: kept for the next call if the answer was read to its end, else closed. Idempotent. */
  close(): void;
}

export type UpstreamAnswer = WholeAnswer | StreamedAnswer;

export type UpstreamHttpFailureReason = "timeout" | "aborted" | "connection";

/** Why no answer came. Its message names no URL, header or body: only the reason. */
export class UpstreamHttpFailure extends Error {
  override readonly name = "UpstreamHttpFailure";
  constructor(
    readonly reason: UpstreamHttpFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface UpstreamHttpClient {
  post(request: UpstreamPost): Promise<UpstreamAnswer>;
}

/**
 * POSTs JSON to an upstream on node:http/node:https with keep-alive agents (LIFO, so a warm socket is
 * reused first), shared by every call of the process. No web `Request`/`Response`/`ReadableStream`
 * and no per-call `AbortController`: those, and the SDK's pipeline around them, were most of an
 * upstream call's CPU.
 *
 * Every socket and answer has an `error` listener for as long as it lives, so no late socket error can
 * be thrown from an event handler (which would end the process).
 */
export function createUpstreamHttpClient(options: UpstreamHttpClientOptions = {}): UpstreamHttpClient {
  const timeout = options.idleSocketTimeoutInMs ?? 4_000;
  const httpAgent = new HttpAgent({ keepAlive: true, timeout, scheduling: "lifo" });
  const httpsAgent = new HttpsAgent({ keepAlive: true, timeout, scheduling: "lifo" });
  return { post: (request) => post(request, request.target.secure ? httpsAgent : httpAgent) };
}

function post(request: UpstreamPost, agent: HttpAgent): Promise<UpstreamAnswer> {
  const { target, signal } = request;
  if (signal?.aborted) return Promise.reject(aborted());
  const method = request.method ?? "POST";
  const body = Buffer.from(request.body, "utf8");
  // A GET or DELETE without a body says nothing of one.
  const headers = method !== "POST" && body.byteLength === 0 ? request.headers : { ...request.headers, "content-length": String(body.byteLength) };
  const requestOptions = { hostname: target.hostname, port: target.port, path: target.path, method, headers, agent };

  return new Promise<UpstreamAnswer>((resolve, reject) => {
    const outgoing: ClientRequest = target.secure ? httpsRequest(requestOptions) : httpRequest(requestOptions);
    /** Until the answer is handed over, failures reject; afterwards they are the answer's to report. */
    let settled = false;
    const fail = (failure: UpstreamHttpFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      outgoing.destroy();
      reject(failure);
    };
    const onAbort = (): void => fail(aborted());
    const timer = setTimeout(() => fail(new UpstreamHttpFailure("timeout", `no answer within ${request.timeoutInMs} ms`)), request.timeoutInMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    outgoing.on("error", (error: NodeJS.ErrnoException) => fail(connectionFailure(error)));
    outgoing.on("response", (incoming: IncomingMessage) => {
      incoming.on("error", ignore); // reported through `close` / the stream below
      const status = incoming.statusCode ?? 0;
      if (request.streamed && status >= 200 && status < 300) {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(streamedAnswer(incoming, outgoing, signal));
        return;
      }
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve({ kind: "whole", status, headers: incoming.headers, body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks) });
      });
      incoming.on("close", () => {
        if (!incoming.complete) fail(new UpstreamHttpFailure("connection", "the connection closed before the answer was complete"));
      });
    });
    outgoing.end(body);
  });
}

/**
 * The answer's body as text, pulled only as it is read. `close()` (or the reader returning early)
 * closes a connection whose answer was not read to its end, so it is never handed back half-read.
 */
function streamedAnswer(incoming: IncomingMessage, outgoing: ClientRequest, signal: AbortSignal | undefined): StreamedAnswer {
  incoming.setEncoding("utf8");
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener("abort", onAbort);
    if (!incoming.complete || !incoming.readableEnded) {
      incoming.destroy();
      outgoing.destroy();
    }
  };
  const onAbort = (): void => close();
  signal?.addEventListener("abort", onAbort, { once: true });

  async function* text(): AsyncGenerator<string> {
    try {
      for await (const chunk of incoming) {
        if (closed) return;
        yield chunk as string;
      }
      if (!incoming.complete) throw new Error("the answer ended early");
    } catch (error) {
      // The caller left (or closed it): end quietly, as the openai SDK did.
      if (closed) return;
      throw new UpstreamHttpFailure("connection", "the stream broke", { cause: error });
    } finally {
      close();
    }
  }
  return { kind: "stream", status: incoming.statusCode ?? 0, headers: incoming.headers, text: text(), close };
}

function connectionFailure(error: NodeJS.ErrnoException): UpstreamHttpFailure {
  // A connect timeout from the OS is a timeout (the SDK classified it so too).
  if (error.code === "ETIMEDOUT") return new UpstreamHttpFailure("timeout", "the connection timed out", { cause: error });
  return new UpstreamHttpFailure("connection", `the upstream could not be reached (${error.code ?? error.name})`, { cause: error });
}

function aborted(): UpstreamHttpFailure {
  return new UpstreamHttpFailure("aborted", "the call was cancelled");
}

function ignore(): void {
  // deliberately nothing: see the callers
}
