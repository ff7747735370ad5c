import { type HttpResponseInit, HttpResponse } from "@azure/functions";
import { ReadableStream } from "node:stream/web";
import { describe, expect, it } from "vitest";
import { directAnswer, directStream } from "../../../local/host/directAnswer.js";

function pairsOf(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}

/** What the real HttpResponse (a fetch Response) makes of `init`: status, headers and the body's bytes, or none. */
async function viaHttpResponse(init: HttpResponseInit): Promise<{ status: number; headers: Record<string, string>; bytes: number[] | null }> {
  const response = new HttpResponse(init);
  const headers = Object.fromEntries(pairsOf(response.headers));
  return { status: response.status, headers, bytes: response.body ? [...new Uint8Array(await response.arrayBuffer())] : null };
}

function viaDirectAnswer(init: HttpResponseInit): { status: number; headers: Record<string, string>; bytes: number[] | null } {
  const answer = directAnswer(init);
  if (answer === null) throw new Error("expected a direct answer");
  const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name !== "content-length"));
  const bytes = answer.payload === null ? null : [...(typeof answer.payload === "string" ? Buffer.from(answer.payload, "utf8") : answer.payload)];
  if (bytes !== null) expect(answer.headers["content-length"]).toBe(String(bytes.length));
  return { status: answer.status, headers, bytes };
}

const SAME: [string, HttpResponseInit][] = [
  ["a JSON body with the gateway's headers", { status: 200, headers: { "content-type": "application/json", "x-request-id": "r-1", "x-ratelimit-remaining-requests": "9" }, jsonBody: { a: "hé ☃", b: [1, null] } }],
  ["a JSON body without a content type", { jsonBody: [1, 2] }],
  ["a JSON body and a body (JSON wins)", { jsonBody: { a: 1 }, body: "ignored" }],
  ["a null JSON body and a string body", { jsonBody: null, body: "text" }],
  ["a JSON string", { jsonBody: "just a string" }],
  ["an error with mixed-case header names", { status: 429, headers: { "Content-Type": "application/json", "Retry-After": "2", "X-Ms-Error-Code": "rate_limited" }, jsonBody: { error: { message: "slow down" } } }],
  ["a string body", { body: "\uFEFFbom and é" }],
  ["a string body with its content type", { headers: { "content-type": "text/event-stream" }, body: "data: x\n\n" }],
  ["an empty string body", { status: 200, body: "" }],
  ["bytes", { headers: { "content-type": "application/octet-stream" }, body: new Uint8Array([0, 255, 1]) }],
  ["a Buffer slice", { body: Buffer.from("xxabcxx").subarray(2, 5) }],
  ["an ArrayBuffer", { body: new Uint8Array([7, 8]).buffer }],
  ["no body", { status: 202, headers: { "x-request-id": "r-2" } }],
  ["nothing at all", {}],
  ["a 204 with a JSON body (dropped)", { status: 204, headers: { "x-request-id": "r-3" }, jsonBody: { a: 1 } }],
  ["a 304", { status: 304 }],
  ["a header value that is a number", { headers: { "x-count": 3 as unknown as string }, jsonBody: {} }],
  ["a header named constructor", { headers: { constructor: "c" }, jsonBody: {} }],
];

describe("local host: the direct answer is what HttpResponse sends", () => {
  it.each(SAME)("for %s", async (_label, init) => {
    expect(viaDirectAnswer(init)).toEqual(await viaHttpResponse(init));
  });

  it.each<[string, HttpResponseInit]>([
    ["headers given as a Headers object", { headers: new Headers({ a: "b" }), jsonBody: {} }],
    ["headers given as pairs", { headers: [["a", "b"]], jsonBody: {} }],
    ["a header value fetch would trim", { headers: { a: " b " }, jsonBody: {} }],
    ["a header value fetch refuses", { headers: { a: "b\r\nc: d" }, jsonBody: {} }],
    ["a header name fetch refuses", { headers: { "a b": "c" }, jsonBody: {} }],
    ["two names that differ in case", { headers: { "X-A": "1", "x-a": "2" }, jsonBody: {} }],
    ["a header named __proto__ (which fetch drops)", { headers: JSON.parse('{"__proto__":"p","x-a":"b"}') as Record<string, string>, jsonBody: {} }],
    ["a status fetch refuses", { status: 600, jsonBody: {} }],
    ["a status below 200", { status: 101 }],
    ["a stream body", { body: new ReadableStream() }],
    ["a URLSearchParams body", { body: new URLSearchParams({ a: "b" }) }],
  ])("leaves %s to HttpResponse", (_label, init) => {
    expect(directAnswer(init)).toBeNull();
  });
});

describe("local host: the direct stream is what HttpResponse sends", () => {
  const frames = (): ReadableStream<Uint8Array> => {
    const chunks = ["data: {\"a\":1}\n\n", "data: [DONE]\n\n"].map((text) => new TextEncoder().encode(text));
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
  };
  const bytesOf = async (stream: ReadableStream<Uint8Array> | globalThis.ReadableStream<Uint8Array>): Promise<number[]> => {
    const out: number[] = [];
    for await (const chunk of stream as AsyncIterable<Uint8Array>) out.push(...chunk);
    return out;
  };

  it.each<[string, HttpResponseInit]>([
    ["an SSE answer with the gateway's headers", { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no", "x-request-id": "r-1", "X-Palisade-Region": "westeurope" } }],
    ["a stream without headers", {}],
    ["a stream with a 201", { status: 201, headers: { "x-b": "2", "x-a": "1" } }],
  ])("for %s: same status, headers in the same order, same bytes", async (_label, init) => {
    const viaHttp = new HttpResponse({ ...init, body: frames() });
    const direct = directStream({ ...init, body: frames() });
    if (direct === null) throw new Error("expected a direct stream");
    expect(direct.status).toBe(viaHttp.status);
    expect(Object.entries(direct.headers)).toEqual(pairsOf(viaHttp.headers));
    expect(await bytesOf(direct.stream)).toEqual(await bytesOf(viaHttp.body as ReadableStream<Uint8Array>));
  });

  it.each<[string, () => HttpResponseInit]>([
    ["a JSON body", () => ({ jsonBody: { a: 1 } })],
    ["a string body", () => ({ body: "text" })],
    ["a locked stream", () => {
      const stream = frames();
      stream.getReader();
      return { body: stream };
    }],
    ["a header fetch would trim", () => ({ headers: { a: " b " }, body: frames() })],
    ["headers given as pairs", () => ({ headers: [["a", "b"]], body: frames() })],
    ["a 204", () => ({ status: 204, body: frames() })],
  ])("leaves %s to HttpResponse", (_label, init) => {
    expect(directStream(init())).toBeNull();
  });
});
