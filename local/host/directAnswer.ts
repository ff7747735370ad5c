import { type HttpResponseInit } from "@azure/functions";
import { ReadableStream } from "node:stream/web";

/** What goes on the wire for a function's answer: status, headers (lowercase names) and the body. */
export interface DirectAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** null: no body at all (as `HttpResponse` has none for 204, 205 and 304, or when none was given). */
  readonly payload: string | Buffer | null;
}

/** Fetch's "null body statuses" that a `Response` in the worker's range can have: never a body. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);
const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/;
/** A header value fetch's `Headers` would keep as it is: no surrounding whitespace, no CR, LF or NUL, no char past 0xFF. */
const NORMAL_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/**
 * The answer `new HttpResponse(init)` (a fetch `Response`) would send for the common shapes a function
 * returns (a plain headers object; a JSON, string or byte body; a status fetch accepts), made without
 * a `Response`, a `Headers` and a stream read back (~55 µs of CPU a request). Null for anything else
 * (a `Headers` or list of pairs, a header fetch would rewrite or refuse, a Blob, a form, a stream, an
 * out-of-range status), which the caller sends through the real `HttpResponse`.
 */
export function directAnswer(init: HttpResponseInit): DirectAnswer | null {
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599) return null;
  const headers = plainHeaders(init.headers);
  if (headers === null) return null;
  if (NULL_BODY_STATUSES.has(status)) return { status, headers, payload: null };
  let payload: string | Buffer | null;
  if (init.jsonBody !== undefined && init.jsonBody !== null) {
    payload = JSON.stringify(init.jsonBody);
    headers["content-type"] ??= "application/json";
  } else if (init.body === undefined || init.body === null) {
    payload = null;
  } else if (typeof init.body === "string") {
    payload = init.body;
    headers["content-type"] ??= "text/plain;charset=UTF-8";
  } else if (init.body instanceof Uint8Array) {
    payload = Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
  } else if (init.body instanceof ArrayBuffer) {
    payload = Buffer.from(init.body);
  } else {
    return null;
  }
  if (payload !== null) headers["content-length"] = String(typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength);
  return { status, headers, payload };
}

/** A streamed answer (SSE) as the wire gets it: status, headers in `Headers`' order, and the stream itself. */
export interface DirectStream {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly stream: ReadableStream<Uint8Array>;
}

/**
 * What `new HttpResponse(init)` would send for a web `ReadableStream` body with plain headers: its
 * headers lowercased and in name order (as a fetch `Headers` iterates them), no content type added,
 * and the same stream (a `Response` reads the stream it is given, it does not copy it). Made without
 * a `Response` and a `Headers` for every streamed request. Null for anything else (a JSON or byte
 * body, an async iterable, a locked stream, headers fetch would rewrite), which the caller sends
 * through the real `HttpResponse`.
 */
export function directStream(init: HttpResponseInit): DirectStream | null {
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599 || NULL_BODY_STATUSES.has(status)) return null;
  if ((init.jsonBody !== undefined && init.jsonBody !== null) || !(init.body instanceof ReadableStream) || init.body.locked) return null;
  const headers = plainHeaders(init.headers);
  if (headers === null) return null;
  const ordered: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) ordered[name] = headers[name] ?? "";
  return { status, headers: ordered, stream: init.body as ReadableStream<Uint8Array> };
}

/** The headers of a plain object, lowercased as `Headers` keeps them; null when `Headers` would change or refuse one. */
function plainHeaders(init: HttpResponseInit["headers"]): Record<string, string> | null {
  // A plain object (one without a prototype is a dictionary in V8: ~1 KB a response). Own names only are
  // ever read (`Object.hasOwn`, Node's writeHead), so a header named `constructor` is a header like any other.
  const headers: Record<string, string> = {};
  if (init === undefined) return headers;
  const prototype: unknown = Object.getPrototypeOf(init);
  if (prototype !== Object.prototype && prototype !== null) return null;
  const record = init as Record<string, unknown>;
  // Names only (no [name, value] pair per header): the same own enumerable names, in the same order.
  for (const name of Object.keys(record)) {
    const value = String(record[name]);
    const key = name.toLowerCase();
    // fetch's Headers drops a `__proto__` member of the object it is given.
    if (!TOKEN.test(name) || !NORMAL_VALUE.test(value) || Object.hasOwn(headers, key) || key === "__proto__") return null;
    headers[key] = value;
  }
  return headers;
}
