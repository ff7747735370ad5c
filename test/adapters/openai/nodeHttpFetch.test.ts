import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { getEventListeners } from "node:events";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNodeHttpFetch } from "../../../src/adapters/openai/nodeHttpFetch.js";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler = (_request, _body, response) => response.end();
const seen: { method: string; path: string; headers: IncomingMessage["headers"]; body: string; remotePort: number }[] = [];
const closed: number[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers, body, remotePort: request.socket.remotePort ?? 0 });
      handler(request, body, response);
    });
  });
  server.on("connection", (socket) => socket.on("close", () => closed.push(socket.remotePort ?? 0)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
  closed.length = 0;
});

const sdkHeaders = (): Headers => new Headers({ "Content-Type": "application/json", Accept: "application/json", "api-key": "k" });

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a rejection with an Error, got ${String(outcome)}`);
  return outcome;
}

/** Resolves when `check` holds, polling the event loop (bounded). */
async function eventually(check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !check(); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe("createNodeHttpFetch", () => {
  it("sends the method, headers and body, and returns a standard Response with status, headers and body", async () => {
    handler = (_request, body, response) => {
      response.setHeader("set-cookie", ["a=1", "b=2"]);
      response.writeHead(201, { "content-type": "application/json", "x-request-id": "up-1" }).end(JSON.stringify({ echoed: JSON.parse(body) as unknown }));
    };
    const fetch = createNodeHttpFetch();
    const response = await fetch(`${base}/v1/chat/completions?api-version=1`, { method: "POST", headers: sdkHeaders(), body: '{"hé":"☃"}' });
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.ok, response.headers.get("x-request-id"), response.headers.get("content-type")]).toEqual([201, true, "up-1", "application/json"]);
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await response.json()).toEqual({ echoed: { hé: "☃" } });
    const [sent] = seen;
    expect([sent?.method, sent?.path, sent?.body]).toEqual(["POST", "/v1/chat/completions?api-version=1", '{"hé":"☃"}']);
    expect(sent?.headers["content-length"]).toBe(String(Buffer.byteLength('{"hé":"☃"}')));
    expect(sent?.headers["api-key"]).toBe("k");
  });

  it("keeps the connection alive between calls", async () => {
    handler = (_request, _body, response) => response.writeHead(200, { "content-type": "application/json" }).end("{}");
    const fetch = createNodeHttpFetch();
    for (let call = 0; call < 3; call += 1) await (await fetch(`${base}/x`, { method: "POST", headers: sdkHeaders(), body: "{}" })).json();
    expect(new Set(seen.map((request) => request.remotePort)).size).toBe(1);
  });

  it("answers 204 with a null body, and error statuses as responses (the SDK reads them)", async () => {
    const fetch = createNodeHttpFetch();
    handler = (_request, _body, response) => response.writeHead(204).end();
    expect((await fetch(`${base}/x`, { method: "GET" })).body).toBeNull();
    handler = (_request, _body, response) => response.writeHead(429, { "retry-after": "2", "content-type": "application/json" }).end('{"error":{"message":"slow down"}}');
    const limited = await fetch(`${base}/x`, { method: "POST", body: "{}" });
    expect([limited.status, limited.headers.get("retry-after"), await limited.text()]).toEqual([429, "2", '{"error":{"message":"slow down"}}']);
  });

  it("streams an event stream as it arrives, without waiting for its end", async () => {
    let finish: () => void = () => undefined;
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      finish = () => response.end("data: [DONE]\n\n");
    };
    const response = await createNodeHttpFetch()(`${base}/stream`, { method: "POST", body: "{}" });
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    const first = await reader.read();
    expect(Buffer.from(first.value ?? new Uint8Array()).toString()).toBe("data: first\n\n");
    finish();
    const rest: string[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest.push(Buffer.from(next.value).toString());
    expect(rest.join("")).toBe("data: [DONE]\n\n");
  });

  it("does not cut a stream that pauses for longer than the idle-socket timeout", async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      setTimeout(() => response.end("data: [DONE]\n\n"), 200);
    };
    const response = await createNodeHttpFetch({ idleSocketTimeoutInMs: 20 })(`${base}/stream`, { method: "POST", body: "{}" });
    expect(await response.text()).toBe("data: first\n\ndata: [DONE]\n\n");
  });

  it("errors the stream with TypeError('terminated') when the connection breaks mid-stream", async () => {
    let cut: () => void = () => undefined;
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      cut = () => response.socket?.destroy();
    };
    const response = await createNodeHttpFetch()(`${base}/stream`, { method: "POST", body: "{}" });
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    await reader.read();
    cut();
    const error = await rejection(reader.read());
    expect([error.name, error.message]).toEqual(["TypeError", "terminated"]);
  });

  it("rejects with TypeError('fetch failed') when a non-stream answer is cut short", async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write('{"partial":');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const error = await rejection(createNodeHttpFetch()(`${base}/x`, { method: "POST", body: "{}" }));
    expect([error.name, error.message]).toEqual(["TypeError", "fetch failed"]);
  });

  it("rejects with TypeError('fetch failed') and the cause when nothing listens", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await rejection(createNodeHttpFetch()(`http://127.0.0.1:${port}/x`, { method: "POST", body: "{}" }));
    expect([error.name, error.message]).toEqual(["TypeError", "fetch failed"]);
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("rejects with the signal's AbortError when aborted before the answer, and closes the connection", async () => {
    handler = () => undefined; // never answers
    const controller = new AbortController();
    const pending = createNodeHttpFetch()(`${base}/slow`, { method: "POST", body: "{}", signal: controller.signal });
    await eventually(() => seen.length === 1);
    controller.abort();
    const error = await rejection(pending);
    expect(error.name).toBe("AbortError");
    await eventually(() => closed.includes(seen[0]?.remotePort ?? -1));
    expect(await rejection(createNodeHttpFetch()(`${base}/x`, { signal: AbortSignal.abort() }))).toHaveProperty("name", "AbortError");
  });

  it("errors the body with the AbortError when aborted mid-stream, and closes the connection", async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
    };
    const controller = new AbortController();
    const response = await createNodeHttpFetch()(`${base}/stream`, { method: "POST", body: "{}", signal: controller.signal });
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    await reader.read();
    controller.abort();
    expect((await rejection(reader.read())).name).toBe("AbortError");
    await eventually(() => closed.includes(seen[0]?.remotePort ?? -1));
  });

  it("lets a reader cancel at any point of a stream, also after the upstream finished sending, without throwing at the closed stream", async () => {
    // Issue 18 item 1: the socket's later chunks and `end` reached the cancelled stream's controller
    // (ERR_INVALID_STATE thrown from an event handler: an uncaught exception that kills the process).
    const uncaught: unknown[] = [];
    const record = (error: unknown): void => void uncaught.push(error);
    process.on("uncaughtException", record);
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      setTimeout(() => {
        for (let index = 0; index < 5; index += 1) response.write(`data: ${index}\n\n`);
        response.end("data: [DONE]\n\n");
      }, 5);
    };
    const fetchOf = createNodeHttpFetch();
    try {
      for (let attempt = 0; attempt < 30; attempt += 1) {
        const controller = new AbortController();
        const response = await fetchOf(`${base}/stream`, { method: "POST", body: "{}", signal: controller.signal });
        const reader = response.body?.getReader();
        if (!reader) throw new Error("no body");
        await reader.read();
        // Cancel before, or after, the upstream has sent the rest; sometimes with a read pending.
        await new Promise((resolve) => setTimeout(resolve, attempt % 3 === 0 ? 0 : 20));
        if (attempt % 2 === 1) reader.read().catch(() => undefined);
        await reader.cancel();
        // The SDK aborts its signal after cancelling the body: no listener may be left on it.
        expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.abort();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("uncaughtException", record);
    }
    expect(uncaught.map(String)).toEqual([]);
    // Every cancelled stream's connection was closed, not left to the pool half-read.
    await eventually(() => closed.length === 30);
  });
});

