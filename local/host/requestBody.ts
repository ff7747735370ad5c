import { type IncomingMessage } from "node:http";
import { ReadableStream } from "node:stream/web";

/** Azure's front end refuses bodies over 100 MB; the functions enforce their own, smaller limits. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** A body this small (declared) is read whole before the function runs: cheaper, and bounded. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** What the function gets: bytes read whole, a stream it reads (and may stop reading), or nothing. */
export type RequestBody = { readonly kind: "bytes"; readonly bytes: Buffer } | { readonly kind: "stream"; readonly stream: ReadableStream<Uint8Array> } | { readonly kind: "none" };

/** Requests whose function stopped reading the body before its end (past its limit). */
const abandoned = new WeakSet<IncomingMessage>();

/** How to stop a body stream the function has not finished reading, by request. */
const detachers = new WeakMap<IncomingMessage, () => void>();

/**
 * After answering a request whose body was not read to its end (a 413, say): stop feeding the
 * function's stream, read and drop what the caller is still sending for a moment, so it reads the
 * answer rather than a connection reset, then close the connection: at most `maxBytes` more, or
 * `lingerInMs`, never the rest of a 100 MB upload.
 */
export function closeAfterUnreadBody(request: IncomingMessage, maxBytes = 4 * 1024 * 1024, lingerInMs = 1_000): void {
  detachers.get(request)?.();
  abandoned.add(request);
  let discarded = 0;
  const close = (): void => {
    clearTimeout(timer);
    request.socket.destroy();
  };
  const timer = setTimeout(close, lingerInMs);
  timer.unref();
  request.on("data", (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > maxBytes) close();
  });
  request.once("end", () => clearTimeout(timer));
  request.resume();
}

/** Whether the function stopped reading this request's body before its end. */
export function isBodyAbandoned(request: IncomingMessage): boolean {
  return abandoned.has(request);
}

/** The body was cut off (the caller went away, or was cut off for sending too slowly). */
export class RequestBodyError extends Error {
  override readonly name = "RequestBodyError";
}

/**
 * The request's body as the function will see it. With `enableHttpStream` (src/index.ts) the Azure
 * worker hands the function the body as a stream, so the function's own limit applies as it reads:
 * a declared length past it is refused before a byte is read, and reading stops at the limit. The
 * local host does the same for any body that is large or of unknown length; a small declared body is
 * read whole first, which costs less and is bounded by SMALL_BODY_BYTES.
 */
export async function requestBodyOf(request: IncomingMessage, method: string): Promise<RequestBody> {
  if (method === "GET" || method === "HEAD") return { kind: "none" };
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared === 0) return { kind: "none" };
  if (Number.isInteger(declared) && declared <= SMALL_BODY_BYTES) return { kind: "bytes", bytes: await readSmallBody(request) };
  return { kind: "stream", stream: bodyStreamOf(request) };
}

/**
 * Reads a small declared body whole, with listeners rather than `for await` (whose async iterator
 * costs a few promises per chunk, on every request).
 */
function readSmallBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: RequestBodyError | null): void => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onCutOff);
      request.off("close", onCutOff);
      if (error) reject(error);
      else resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      // A body longer than it declared is a broken request; node's parser stops at the length anyway.
      if (size > SMALL_BODY_BYTES) {
        finish(new RequestBodyError("the request body is longer than declared"));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    const onCutOff = (): void => finish(new RequestBodyError("the request body was cut off"));
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onCutOff);
    request.on("close", onCutOff);
  });
}

/**
 * A web stream over the body as it arrives, with back-pressure. When the function stops reading
 * (cancels, past its limit), the socket is paused, not destroyed, so the host can still answer; the
 * host then closes the connection rather than read the rest (see `finishUnreadBody`).
 */
function bodyStreamOf(request: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  let detach = (): void => undefined;
  const finish = (settle?: () => void): void => {
    if (!open) return;
    open = false;
    detach();
    settle?.();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let received = 0;
      const onData = (chunk: Buffer): void => {
        if (!open) return;
        received += chunk.byteLength;
        if (received > MAX_BODY_BYTES) {
          finish(() => controller.error(new RequestBodyError("the request body is larger than 100 MB")));
          abandoned.add(request);
          request.pause();
          return;
        }
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) request.pause();
      };
      const onEnd = (): void => finish(() => controller.close());
      const onClose = (): void => finish(() => controller.error(new RequestBodyError("the request body was cut off")));
      detach = () => {
        request.off("data", onData);
        request.off("end", onEnd);
        request.off("close", onClose);
      };
      detachers.set(request, () => finish(() => controller.error(new RequestBodyError("the request was answered before its body was read"))));
      request.on("data", onData);
      request.on("end", onEnd);
      request.on("close", onClose);
    },
    pull() {
      if (open) request.resume();
    },
    cancel() {
      finish();
      abandoned.add(request);
      request.pause();
    },
  });
}

export interface BodyRateOptions {
  /** Kestrel's MinRequestBodyDataRate: 240 bytes/s on average ... */
  readonly minBytesPerSecond: number;
  /** ... checked once this grace period has passed (Kestrel: 5 s). */
  readonly graceInMs: number;
}

/**
 * Calls `tooSlow` once if the body's average rate since it began falls below the minimum after the
 * grace period (a slow-loris body), as Kestrel, the Functions host's web server, does by default.
 * Counts what the connection has read (no `data` listener, which would change how the body flows).
 * Stops watching when the body has arrived, the request is gone, or `settled()` says the answer no
 * longer waits for the body (it was answered, or the function stopped reading). The first two stop
 * it at once (not at its next tick): the timer's closure holds the request and its answer, and
 * holding every request for up to a second got them promoted to the old generation at 200 req/s.
 */
export function watchBodyRate(request: IncomingMessage, options: BodyRateOptions, settled: () => boolean, tooSlow: () => void): void {
  if (request.complete || options.minBytesPerSecond <= 0) return;
  const socket = request.socket;
  const startedAt = Date.now();
  const baseline = socket.bytesRead;
  const timer = setInterval(
    () => {
      if (request.complete || request.destroyed || settled()) return void stop();
      const elapsedInMs = Date.now() - startedAt;
      if (elapsedInMs < options.graceInMs) return;
      if (socket.bytesRead - baseline < (options.minBytesPerSecond * elapsedInMs) / 1000) {
        stop();
        tooSlow();
      }
    },
    Math.min(1_000, Math.max(50, options.graceInMs / 4)),
  );
  timer.unref();
  // 'end' and 'close' neither start the body flowing nor hold it back.
  const stop = (): void => {
    clearInterval(timer);
    request.off("end", stop);
    request.off("close", stop);
  };
  request.once("end", stop);
  request.once("close", stop);
}
