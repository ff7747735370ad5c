import { type AccessToken, type TokenCredential } from "@azure/identity";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { type CompletionCallOptions, type CompletionChunk } from "../../../src/core/upstream/CompletionProvider.js";
import { drain, upstreamErrorOf } from "./upstreamOutcomes.js";

/** What the provider does with answers the mock upstream does not give: one bare server, one handler per test. */
type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let handler: Handler = (_request, _body, response) => response.end();
const closed: number[] = [];
const ports: number[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      ports.push(request.socket.remotePort ?? 0);
      handler(request, Buffer.concat(chunks).toString("utf8"), response);
    });
  });
  server.on("connection", (socket) => socket.on("close", () => closed.push(socket.remotePort ?? 0)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  closed.length = 0;
  ports.length = 0;
});

const PROMPT = "my card is 4111 1111 1111 1111";
const endpoint = (overrides: Partial<EndpointPolicy> = {}): EndpointPolicy => ({
  id: "azure-wire",
  provider: "azure",
  baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["wire"],
  priority: 1,
  apiVersion: "2024-10-21",
  auth: { kind: "none" },
  timeoutInMs: 5_000,
  ...overrides,
});
const BODY = { messages: [{ role: "user", content: PROMPT }] };
const options = (overrides: Partial<CompletionCallOptions> = {}): CompletionCallOptions => ({ deployment: "wire", timeoutInMs: 5_000, requestId: "req-wire-1", ...overrides });
const provider = (credential: TokenCredential | null = null): OpenAiCompletionProvider => new OpenAiCompletionProvider({ credential, readApiKey: null });

const chunk = (content: string): string => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const sse = (response: ServerResponse): ServerResponse => response.writeHead(200, { "content-type": "text/event-stream" });

async function eventually(check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !check(); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe("OpenAiCompletionProvider: error answers", () => {
  it("keeps Azure's content-filter code and verdicts, and neither the upstream's message nor the prompt", async () => {
    const verdicts = { hate: { filtered: false, severity: "safe" }, violence: { filtered: true, severity: "high" } };
    handler = (_request, _body, response) =>
      response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `The prompt "${PROMPT}" was filtered`, type: null, param: "prompt", code: "content_filter", status: 400, innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: verdicts } } }));
    const error = await upstreamErrorOf(provider().complete(endpoint(), BODY, options()));
    expect([error.kind, error.status, error.upstream.code, error.upstream.param]).toEqual(["fatal", 400, "content_filter", "prompt"]);
    expect(error.upstream.contentFilterResult).toEqual(verdicts);
    expect(`${error.message} ${String(error.stack)}`).not.toMatch(/4111|filtered/);
  });

  it("falls back to innererror.code (older API versions), and keeps a code only when it is a plain token", async () => {
    handler = (_request, _body, response) => response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: `bad ${PROMPT}`, innererror: { code: "ResponsibleAIPolicyViolation" } } }));
    expect((await upstreamErrorOf(provider().complete(endpoint(), BODY, options()))).upstream.code).toBe("ResponsibleAIPolicyViolation");
    handler = (_request, _body, response) => response.writeHead(404, { "content-type": "text/plain" }).end(`no deployment for ${PROMPT}`);
    const error = await upstreamErrorOf(provider().complete(endpoint(), BODY, options()));
    expect([error.kind, error.status, error.upstream]).toEqual(["fatal", 404, {}]);
  });

  it("reads retry-after-ms before retry-after on a 429; a 408 is a timeout", async () => {
    handler = (_request, _body, response) => response.writeHead(429, { "retry-after": "7", "retry-after-ms": "1500" }).end();
    const limited = await upstreamErrorOf(provider().complete(endpoint(), BODY, options()));
    expect([limited.kind, limited.retryAfterInMs]).toEqual(["rate_limited", 1_500]);
    handler = (_request, _body, response) => response.writeHead(408).end();
    expect((await upstreamErrorOf(provider().complete(endpoint(), BODY, options()))).kind).toBe("timeout");
  });

  it("refuses a 200 whose body is not a JSON object (fatal: no failover on a malformed answer)", async () => {
    handler = (_request, _body, response) => response.writeHead(200, { "content-type": "application/json" }).end("<html>proxy error</html>");
    const error = await upstreamErrorOf(provider().complete(endpoint(), BODY, options()));
    expect([error.kind, error.status]).toEqual(["fatal", 200]);
  });

  it("a caller that goes away is not the endpoint's failure: fatal (no failover, no breaker), and the connection is closed", async () => {
    handler = () => undefined; // never answers
    const controller = new AbortController();
    const pending = provider().complete(endpoint(), BODY, options({ abortSignal: controller.signal }));
    await eventually(() => ports.length === 1);
    controller.abort();
    const error = await upstreamErrorOf(pending);
    expect([error.kind, error.status]).toEqual(["fatal", null]);
    await eventually(() => closed.includes(ports[0] ?? -1));
  });

  it("a managed identity that cannot give a token: fatal, nothing sent, the credential's message not repeated", async () => {
    const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => Promise.reject(new Error("identity endpoint http://169.254.169.254 said no for client 1234")) };
    const error = await upstreamErrorOf(provider(credential).complete(endpoint({ auth: { kind: "managed-identity" } }), BODY, options()));
    expect(error.kind).toBe("fatal");
    expect(error.message).not.toMatch(/169\.254|1234/);
    expect(ports).toEqual([]);
  });
});

describe("OpenAiCompletionProvider: streams on the wire", () => {
  it("yields nothing after [DONE], and reads to the end so the connection is reused", async () => {
    handler = (_request, _body, response) => sse(response).end(`${chunk("a")}: keep-alive comment\n\n${chunk("b")}data: [DONE]\n\n${chunk("after")}`);
    const shared = provider();
    for (let call = 0; call < 2; call += 1) {
      const chunks = await drain(await shared.stream(endpoint(), BODY, options()));
      expect(chunks.map((item) => item.choices[0]?.delta?.content)).toEqual(["a", "b"]);
    }
    expect(new Set(ports).size).toBe(1);
    expect(closed).not.toContain(ports[0]);
  });

  it("parses events split anywhere across packets, with CRLF line ends", async () => {
    const text = `${chunk("one")}${chunk("two")}data: [DONE]\n\n`.replaceAll("\n", "\r\n");
    handler = (_request, _body, response) => {
      sse(response);
      let at = 0;
      const next = (): void => {
        if (at >= text.length) return void response.end();
        response.write(text.slice(at, at + 7));
        at += 7;
        setImmediate(next);
      };
      next();
    };
    const chunks = await drain(await provider().stream(endpoint(), BODY, options()));
    expect(chunks.map((item) => item.choices[0]?.delta?.content)).toEqual(["one", "two"]);
  });

  it("an error event mid-stream ends it with a fatal UpstreamError that keeps the code, not the message", async () => {
    handler = (_request, _body, response) => sse(response).end(`${chunk("a")}data: ${JSON.stringify({ error: { message: `stopped at ${PROMPT}`, code: "content_filter" } })}\n\n`);
    const stream = await provider().stream(endpoint(), BODY, options());
    const error = await upstreamErrorOf(drain(stream));
    expect([error.kind, error.upstream.code]).toEqual(["fatal", "content_filter"]);
    expect(error.message).not.toContain("4111");
  });

  it("an event that is not JSON breaks the stream (connection)", async () => {
    handler = (_request, _body, response) => sse(response).end(`${chunk("a")}data: {"choices": [\n\n`);
    expect((await upstreamErrorOf(provider().stream(endpoint(), BODY, options()).then(drain))).kind).toBe("connection");
  });

  it("the call's timeout runs until the stream's headers, not through its pauses", async () => {
    handler = (_request, _body, response) => {
      sse(response).write(chunk("a"));
      setTimeout(() => response.end(`${chunk("b")}data: [DONE]\n\n`), 300);
    };
    const chunks: CompletionChunk[] = await drain(await provider().stream(endpoint(), BODY, options({ timeoutInMs: 100 })));
    expect(chunks).toHaveLength(2);
  });

  it("a stream returned before it is read closes its upstream connection", async () => {
    handler = (_request, _body, response) => sse(response).write(chunk("a"));
    const stream = await provider().stream(endpoint(), BODY, options());
    await stream[Symbol.asyncIterator]().return?.();
    await eventually(() => closed.includes(ports[0] ?? -1));
  });

  it("a caller abort mid-stream ends the iteration quietly and closes the connection", async () => {
    handler = (_request, _body, response) => sse(response).write(chunk("a"));
    const controller = new AbortController();
    const iterator = (await provider().stream(endpoint(), BODY, options({ abortSignal: controller.signal })))[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.choices[0]?.delta?.content).toBe("a");
    const next = iterator.next();
    controller.abort();
    expect((await next).done).toBe(true);
    await eventually(() => closed.includes(ports[0] ?? -1));
  });
});

describe("OpenAiCompletionProvider: the Responses API on the wire", () => {
  it("adds output_text (every output_text part of every message), as the openai SDK did", async () => {
    const output = [
      { type: "reasoning", id: "r1", summary: [] },
      { type: "message", id: "m1", role: "assistant", content: [{ type: "output_text", text: "Hello, ", annotations: [] }, { type: "refusal", refusal: "no" }] },
      { type: "message", id: "m2", role: "assistant", content: [{ type: "output_text", text: "world", annotations: [] }] },
    ];
    handler = (_request, _body, response) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "resp_1", object: "response", output, usage: { input_tokens: 3, output_tokens: 2 } }));
    const result = await provider().createResponse(endpoint(), { input: "hi" }, options());
    expect(result.body.output_text).toBe("Hello, world");
    expect(result.usage).toEqual({ promptTokens: 3, cachedPromptTokens: 0, completionTokens: 2 });
  });

  it("streams typed events as sent", async () => {
    const events = [
      { type: "response.created", sequence_number: 0, response: { id: "resp_1" } },
      { type: "response.output_text.delta", sequence_number: 1, delta: "hi" },
      { type: "response.completed", sequence_number: 2, response: { id: "resp_1", usage: { input_tokens: 1, output_tokens: 1 } } },
    ];
    handler = (_request, _body, response) => sse(response).end(events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(""));
    expect(await drain(await provider().streamResponse(endpoint(), { input: "hi" }, options()))).toEqual(events);
  });
});
