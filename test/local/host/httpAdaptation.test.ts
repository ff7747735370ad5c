import { type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { type IncomingMessage, request as httpRequest } from "node:http";
import { ReadableStream } from "node:stream/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningLocalHost, startLocalHost } from "../../../local/host/index.js";
import { type FunctionDefinition } from "../../../src/functions/definition.js";

let host: RunningLocalHost;
let answer: (request: HttpRequest) => Promise<HttpResponseInit> = async () => ({ status: 204 });
const cancelled: string[] = [];

beforeAll(async () => {
  const definitions: FunctionDefinition[] = [
    {
      kind: "http",
      name: "probe",
      options: { route: "probe/{id?}", methods: ["GET", "POST"], authLevel: "anonymous", handler: async (request: HttpRequest) => answer(request) },
    },
  ];
  host = await startLocalHost({ definitions, log: () => undefined });
});

afterAll(async () => {
  await host?.stop();
});

interface Received {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

function send(path: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`http://127.0.0.1:${host.port}${path}`, { method: options.method ?? "GET", headers: options.headers ?? {} }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }));
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

describe("local host: the request the function gets", () => {
  it("gives the URL, query, route parameters, headers and body as Azure would", async () => {
    answer = async (request) => ({
      jsonBody: {
        url: request.url,
        query: [...request.query.entries()],
        params: request.params,
        forwardedFor: request.headers.get("x-forwarded-for"),
        body: await request.text(),
      },
    });
    const received = await send("/api/probe/42?a=1&b=x%20y&a=2", { method: "POST", body: '{"k":"é"}', headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" } });
    expect(received.status).toBe(200);
    expect(JSON.parse(received.body.toString("utf8"))).toEqual({
      url: `http://127.0.0.1:${host.port}/api/probe/42?a=1&b=x%20y&a=2`,
      query: [
        ["a", "2"],
        ["b", "x y"],
      ],
      params: { id: "42" },
      forwardedFor: "203.0.113.9, 127.0.0.1",
      body: '{"k":"é"}',
    });
  });

  it("normalises paths the way the URL parser does (dot segments, percent-encoding)", async () => {
    answer = async (request) => ({ jsonBody: { url: request.url, params: request.params } });
    const dotted = await send("/api/other/../probe/7");
    expect(JSON.parse(dotted.body.toString("utf8"))).toEqual({ url: `http://127.0.0.1:${host.port}/api/probe/7`, params: { id: "7" } });
    const encoded = await send("/api/probe/a%2Fb");
    expect(JSON.parse(encoded.body.toString("utf8"))).toMatchObject({ params: { id: "a/b" } });
    expect((await send("/api/nothing-here")).status).toBe(404);
  });
});

describe("local host: the answer the caller gets", () => {
  it("sends a JSON answer in one piece, with its length, the function's headers and the exact bytes", async () => {
    const value = { text: "hé ☃", list: [1, 2, 3] };
    answer = async () => ({ status: 201, headers: { "x-request-id": "r-1" }, jsonBody: value });
    const received = await send("/api/probe");
    expect([received.status, received.headers["content-type"], received.headers["x-request-id"]]).toEqual([201, "application/json", "r-1"]);
    expect(received.headers["content-length"]).toBe(String(Buffer.byteLength(JSON.stringify(value))));
    expect(received.headers["transfer-encoding"]).toBeUndefined();
    expect(received.body.toString("utf8")).toBe(JSON.stringify(value));
  });

  it("sends string and byte bodies byte for byte (a leading byte-order mark included)", async () => {
    answer = async () => ({ headers: { "content-type": "text/plain; charset=utf-8" }, body: "\uFEFFbom and é" });
    const text = await send("/api/probe");
    expect([...text.body]).toEqual([...Buffer.from("\uFEFFbom and é", "utf8")]);
    const bytes = new Uint8Array([0, 255, 1, 254]);
    answer = async () => ({ headers: { "content-type": "application/octet-stream" }, body: bytes });
    expect([...(await send("/api/probe")).body]).toEqual([0, 255, 1, 254]);
  });

  it("answers 204 without a body", async () => {
    answer = async () => ({ status: 204, headers: { "x-request-id": "r-2" } });
    const received = await send("/api/probe");
    expect([received.status, received.headers["x-request-id"], received.body.byteLength]).toEqual([204, "r-2", 0]);
  });

  it("streams a streamed answer as it is produced, not when it ends", async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    answer = async () => ({
      headers: { "content-type": "text/event-stream" },
      body: new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
          await released;
          controller.enqueue(new TextEncoder().encode("data: [DONE]\n\n"));
          controller.close();
        },
      }),
    });
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      httpRequest(`http://127.0.0.1:${host.port}/api/probe`, (incoming) => {
        expect(incoming.headers["content-type"]).toBe("text/event-stream");
        incoming.on("data", (chunk: Buffer) => {
          chunks.push(chunk.toString("utf8"));
          // The first event arrived while the function still holds the rest back.
          if (chunks.length === 1) release();
        });
        incoming.on("end", resolve);
        incoming.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
    expect(chunks[0]).toBe("data: first\n\n");
    expect(chunks.join("")).toBe("data: first\n\ndata: [DONE]\n\n");
  });

  it("cancels a streamed answer when the caller goes away", async () => {
    answer = async () => ({
      headers: { "content-type": "text/event-stream" },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
        },
        cancel() {
          cancelled.push("stream");
        },
      }),
    });
    await new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(`http://127.0.0.1:${host.port}/api/probe`, (incoming) => {
        incoming.once("data", () => {
          outgoing.destroy();
          resolve();
        });
      });
      outgoing.on("error", () => undefined);
      outgoing.end();
      setTimeout(() => reject(new Error("no first event")), 5_000).unref();
    });
    for (let attempt = 0; attempt < 200 && cancelled.length === 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(cancelled).toEqual(["stream"]);
  });
});
