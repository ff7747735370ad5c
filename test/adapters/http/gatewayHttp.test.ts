import { HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../../../src/adapters/http/gatewayHttp.js";
import { isPalisadeError } from "../../../src/core/errors.js";

const request = (headers: Record<string, string>): HttpRequest => new HttpRequest({ method: "POST", url: "http://127.0.0.1:7071/api/v1/chat/completions", headers });

describe("gatewayRequestOf", () => {
  it("picks the headers the gateway needs", () => {
    const body = { model: "m" };
    const picked = gatewayRequestOf(
      request({
        authorization: "Bearer pal_x",
        "api-key": "pal_y",
        "openai-project": "acme",
        "x-data-classification": "pii",
        "x-palisade-residency": "eu",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "x-forwarded-for": "198.51.100.7",
      }),
      "req-00000001",
      1,
      body,
    );
    expect(picked).toEqual({
      requestId: "req-00000001",
      authorization: "Bearer pal_x",
      apiKey: "pal_y",
      requestedProject: "acme",
      dataClassHeader: "pii",
      residencyHeader: "eu",
      clientIp: "198.51.100.7",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      body,
    });
  });

  it("leaves absent headers empty", () => {
    expect(gatewayRequestOf(request({}), "req-00000001", 1, null)).toMatchObject({
      authorization: null,
      apiKey: null,
      requestedProject: null,
      dataClassHeader: undefined,
      residencyHeader: undefined,
      clientIp: null,
      traceparent: undefined,
    });
  });

  it("takes the client address only from trusted hops, so x-forwarded-for cannot be spoofed", () => {
    const spoofed = request({ "x-forwarded-for": "10.1.2.3, 198.51.100.7" });
    expect(gatewayRequestOf(spoofed, "r", 1, null).clientIp).toBe("198.51.100.7");
    expect(gatewayRequestOf(spoofed, "r", 2, null).clientIp).toBe("10.1.2.3");
    expect(gatewayRequestOf(spoofed, "r", 3, null).clientIp).toBeNull();
    // With no trusted proxy, x-forwarded-for is ignored: the connection's address is the one App
    // Service's front end writes into client-ip; without it the address is unknown.
    expect(gatewayRequestOf(spoofed, "r", 0, null).clientIp).toBeNull();
    expect(gatewayRequestOf(request({ "x-forwarded-for": "10.1.2.3, 198.51.100.7", "client-ip": "198.51.100.9:49828" }), "r", 0, null).clientIp).toBe("198.51.100.9");
    expect(gatewayRequestOf(request({ "client-ip": "[2001:db8::9]:443" }), "r", 0, null).clientIp).toBe("2001:db8::9");
    expect(gatewayRequestOf(request({ "x-forwarded-for": "[2001:db8::7]:443" }), "r", 1, null).clientIp).toBe("2001:db8::7");
  });

  it("accepts x-palisade-project, and refuses two project headers that disagree", () => {
    expect(gatewayRequestOf(request({ "x-palisade-project": "acme" }), "r", 0, null).requestedProject).toBe("acme");
    expect(gatewayRequestOf(request({ "x-palisade-project": "acme", "openai-project": "acme" }), "r", 0, null).requestedProject).toBe("acme");
    let thrown: unknown = null;
    try {
      gatewayRequestOf(request({ "x-palisade-project": "acme", "openai-project": "other" }), "r", 0, null);
    } catch (error) {
      thrown = error;
    }
    expect(isPalisadeError(thrown) ? [thrown.status, thrown.param] : thrown).toEqual([400, "OpenAI-Project"]);
  });
});

describe("requestIdFor", () => {
  const fresh = (): string => "generated-id";

  it.each(["abcdefgh", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:span.1_2", "a".repeat(128)])("keeps a safe caller id %s", (id) => {
    expect(requestIdFor(request({ "x-request-id": id }), fresh)).toBe(id);
  });

  it.each([["too short", "abc"], ["too long", "a".repeat(129)], ["with spaces", "abc def ghi"], ["with a tab", "abcdefgh\tforged"], ["with non-ASCII", "abcdéfgh-1234"], ["with markup", "<script>alert(1)</script>"], ["with quotes", '"abcdefgh"']])(
    "replaces a caller id %s",
    (_label, id) => {
      expect(requestIdFor(request({ "x-request-id": id }), fresh)).toBe("generated-id");
    },
  );

  it("generates one when none is sent", () => {
    expect(requestIdFor(request({}), fresh)).toBe("generated-id");
  });
});

describe("toHttpResponse", () => {
  it("maps a JSON answer with its headers", () => {
    const response = toHttpResponse({ kind: "json", status: 200, headers: { "x-request-id": "r1", "x-palisade-region": "westeurope" }, body: { ok: true } });
    expect(response).toEqual({ status: 200, headers: { "content-type": "application/json", "x-request-id": "r1", "x-palisade-region": "westeurope" }, jsonBody: { ok: true } });
  });

  it("streams SSE frames as they are produced, with the event-stream headers", async () => {
    const produced: string[] = [];
    async function* events(): AsyncIterable<string> {
      for (const frame of ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', "data: [DONE]\n\n"]) {
        produced.push(frame);
        yield frame;
      }
    }
    const response = toHttpResponse({ kind: "stream", status: 200, headers: { "x-request-id": "r2" }, events: events() });
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": "r2" });
    expect(produced).toHaveLength(0);
    const body = response.body;
    if (!(body instanceof ReadableStream)) throw new Error("expected a ReadableStream body");
    const text = await new Response(body as ReadableStream<Uint8Array>).text();
    expect(text).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it("stops the producer when the client goes away", async () => {
    let finished = false;
    let yielded = 0;
    async function* events(): AsyncIterable<string> {
      try {
        for (;;) {
          yielded += 1;
          yield `data: {"n":${yielded}}\n\n`;
        }
      } finally {
        finished = true;
      }
    }
    const response = toHttpResponse({ kind: "stream", status: 200, headers: {}, events: events() });
    const body = response.body as ReadableStream<Uint8Array>;
    const reader = body.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: {"n":1}\n\n');
    await reader.cancel();
    expect(finished).toBe(true);
    expect(yielded).toBeLessThan(5);
  });

  it("ends with an OpenAI error frame, not a cut stream, when the producer throws after the headers went out", async () => {
    const failures: unknown[] = [];
    async function* events(): AsyncIterable<string> {
      yield 'data: {"n":1}\n\n';
      throw new RangeError("a bug");
    }
    const response = toHttpResponse({ kind: "stream", status: 200, headers: { "x-request-id": "req-00000042" }, events: events() }, (error) => failures.push(error));
    const text = await new Response(response.body as ReadableStream<Uint8Array>).text();
    const frames = text.split("\n\n").filter(Boolean);
    expect(frames[0]).toBe('data: {"n":1}');
    expect(JSON.parse((frames[1] ?? "").slice("data: ".length))).toEqual({
      error: { message: "Palisade could not complete the request. Quote request id req-00000042 when reporting it.", type: "api_error", code: "internal_error", param: null },
    });
    expect(frames).toHaveLength(2);
    expect(failures).toEqual([new RangeError("a bug")]);
  });

  it("drops a frame produced after the caller went away instead of throwing at the closed stream", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* events(): AsyncIterable<string> {
      yield 'data: {"n":1}\n\n';
      await gate;
      yield 'data: {"n":2}\n\n';
    }
    const response = toHttpResponse({ kind: "stream", status: 200, headers: {}, events: events() });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const pending = reader.read().catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cancelled = reader.cancel();
    release();
    await expect(cancelled).resolves.toBeUndefined();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });
});
