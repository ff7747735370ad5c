import { type AccessToken, type TokenCredential } from "@azure/identity";
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { type CompletionCallOptions } from "../../../src/core/upstream/CompletionProvider.js";
import { drain, upstreamErrorOf } from "./upstreamOutcomes.js";

let mock: RunningMockOpenAi;

beforeAll(async () => {
  mock = await startMockOpenAi({ name: "unit", region: "westeurope" });
});

afterAll(async () => {
  await mock?.stop();
});

beforeEach(() => {
  mock.setFault(null);
  mock.clearRequests();
});

const azureEndpoint = (overrides: Partial<EndpointPolicy> = {}): EndpointPolicy => ({
  id: "azure-eu",
  provider: "azure",
  baseUrl: mock.url,
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["mini-deployment"],
  priority: 1,
  apiVersion: "2024-10-21",
  auth: { kind: "none" },
  timeoutInMs: 5_000,
  ...overrides,
});
const platformEndpoint = (): EndpointPolicy => azureEndpoint({ id: "platform", provider: "openai", baseUrl: `${mock.url}/v1` });

const BODY = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }], temperature: 0.2, max_tokens: 20 };
const options = (overrides: Partial<CompletionCallOptions> = {}): CompletionCallOptions => ({
  deployment: "mini-deployment",
  timeoutInMs: 5_000,
  requestId: "req-provider-1",
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "congo=t61rcWkgMzE",
  ...overrides,
});
const provider = (extra: Partial<ConstructorParameters<typeof OpenAiCompletionProvider>[0]> = {}): OpenAiCompletionProvider =>
  new OpenAiCompletionProvider({ credential: null, readApiKey: null, ...extra });

describe("OpenAiCompletionProvider: completions", () => {
  it("calls an Azure deployment and maps the answer and its usage", async () => {
    const completion = await provider().complete(azureEndpoint(), BODY, options());
    expect(completion.body.choices[0]?.message?.content).toBe("This is a mock completion from unit (westeurope).");
    const usage = completion.body.usage as { prompt_tokens: number; completion_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage).toEqual({ promptTokens: usage.prompt_tokens, cachedPromptTokens: 0, completionTokens: usage.completion_tokens });

    const [sent] = mock.requests();
    expect(mock.requests()).toHaveLength(1);
    expect(sent?.path).toBe("/openai/deployments/mini-deployment/chat/completions");
    expect(sent?.body).toMatchObject({ model: "mini-deployment", messages: BODY.messages, temperature: 0.2, max_tokens: 20, stream: false });
    expect(sent?.headers["x-ms-client-request-id"]).toBe("req-provider-1");
    expect(sent?.headers.traceparent).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(sent?.headers.tracestate).toBe("congo=t61rcWkgMzE");
  });

  it("calls the OpenAI platform with the deployment as the model id", async () => {
    const completion = await provider().complete(platformEndpoint(), BODY, options());
    expect(completion.usage?.completionTokens).toBeGreaterThan(0);
    const [sent] = mock.requests();
    expect(sent?.path).toBe("/v1/chat/completions");
    expect(sent?.body.model).toBe("mini-deployment");
  });

  it("reads a Key Vault API key for key-vault-secret endpoints and never puts it in errors", async () => {
    const asked: string[] = [];
    const upstreamKey = "upstream-key-VERY-SECRET-0123456789";
    const withKey = provider({ readApiKey: async (name) => (asked.push(name), upstreamKey) });
    await withKey.complete(azureEndpoint({ auth: { kind: "key-vault-secret", secretName: "aoai-eu-key" } }), BODY, options());
    expect(asked).toEqual(["aoai-eu-key"]);
    expect(mock.requests()[0]?.headers["api-key"]).toBe(upstreamKey);

    mock.setFault({ status: 401 });
    const error = await upstreamErrorOf(withKey.complete(azureEndpoint({ auth: { kind: "key-vault-secret", secretName: "aoai-eu-key" } }), BODY, options()));
    expect(error.kind).toBe("fatal");
    expect(`${error.message} ${String(error.stack)}`).not.toContain(upstreamKey);
  });

  it("sends a managed-identity token for the Cognitive Services scope", async () => {
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(...(Array.isArray(scope) ? scope : [scope]));
        return { token: "entra-access-token", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    await provider({ credential }).complete(azureEndpoint({ auth: { kind: "managed-identity" } }), BODY, options());
    expect(scopes).toContain("https://cognitiveservices.azure.com/.default");
    expect(mock.requests()[0]?.headers.authorization).toBe("Bearer entra-access-token");
  });

  it("refuses (fatal, no request) a managed-identity endpoint when no credential is configured", async () => {
    const error = await upstreamErrorOf(provider().complete(azureEndpoint({ auth: { kind: "managed-identity" } }), BODY, options()));
    expect(error.kind).toBe("fatal");
    expect(mock.requests()).toHaveLength(0);
  });
});

describe("OpenAiCompletionProvider: errors, each from exactly one upstream request", () => {
  it("429 with retry-after: rate_limited with retryAfterInMs", async () => {
    mock.setFault({ status: 429, retryAfterSeconds: 2 });
    const error = await upstreamErrorOf(provider().complete(azureEndpoint(), BODY, options()));
    expect([error.kind, error.status, error.retryAfterInMs]).toEqual(["rate_limited", 429, 2_000]);
    expect(error.message).toContain("azure-eu");
    expect(mock.requests()).toHaveLength(1);
  });

  it("500: server_error", async () => {
    mock.setFault({ status: 500 });
    const error = await upstreamErrorOf(provider().complete(azureEndpoint(), BODY, options()));
    expect([error.kind, error.status]).toEqual(["server_error", 500]);
    expect(mock.requests()).toHaveLength(1);
  });

  it("400: fatal (the request itself was refused)", async () => {
    mock.setFault({ status: 400 });
    const error = await upstreamErrorOf(provider().complete(azureEndpoint(), BODY, options()));
    expect([error.kind, error.status]).toEqual(["fatal", 400]);
    expect(mock.requests()).toHaveLength(1);
  });

  it("a dropped connection: connection, not retried", async () => {
    mock.setFault({ drop: true });
    const error = await upstreamErrorOf(provider().complete(azureEndpoint(), BODY, options()));
    expect(error.kind).toBe("connection");
    expect(mock.requests()).toHaveLength(1);
  });

  it("latency beyond the call's timeout: timeout, not retried", async () => {
    mock.setFault({ latencyInMs: 1_500 });
    const error = await upstreamErrorOf(provider().complete(azureEndpoint(), BODY, options({ timeoutInMs: 150 })));
    expect(error.kind).toBe("timeout");
    expect(mock.requests()).toHaveLength(1);
  });

  it("does not retry a retryable status even when the upstream does not forbid it", async () => {
    // The mock always sends x-should-retry: false; a bare upstream does not.
    let received = 0;
    const bare: Server = createServer((request, response) => {
      received += 1;
      request.resume();
      request.on("end", () => response.writeHead(503, { "content-type": "application/json" }).end('{"error":{"message":"busy"}}'));
    });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const error = await upstreamErrorOf(provider().complete(azureEndpoint({ baseUrl: url }), BODY, options()));
      expect([error.kind, error.status]).toEqual(["server_error", 503]);
      expect(received).toBe(1);
    } finally {
      bare.closeAllConnections();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });
});

describe("OpenAiCompletionProvider: streams", () => {
  it("streams chunks in OpenAI's shape and always asks the upstream for usage", async () => {
    const chunks = await drain(await provider().stream(azureEndpoint(), { ...BODY, stream_options: { include_usage: false } }, options()));
    const text = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta?.content ?? "")).join("");
    expect(text).toBe("This is a mock completion from unit (westeurope).");
    expect(chunks.filter((chunk) => chunk.choices.some((choice) => (choice.delta?.content ?? "") !== "")).length).toBeGreaterThan(1);
    const usageChunk = chunks.find((chunk) => chunk.usage);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage?.completion_tokens).toBeGreaterThan(0);
    const [sent] = mock.requests();
    expect(sent?.body).toMatchObject({ model: "mini-deployment", stream: true, stream_options: { include_usage: true } });
    expect(mock.requests()).toHaveLength(1);
  });

  it("fails the call itself when the stream cannot be opened", async () => {
    mock.setFault({ status: 429, retryAfterSeconds: 1 });
    const error = await upstreamErrorOf(provider().stream(azureEndpoint(), BODY, options()));
    expect([error.kind, error.retryAfterInMs]).toEqual(["rate_limited", 1_000]);
    expect(mock.requests()).toHaveLength(1);
  });

  it("raises an UpstreamError (never a socket or parser error) when the stream breaks mid-way", async () => {
    mock.setFault({ truncateAfterChunks: 2 });
    // Whether the break is seen while opening or while reading depends on socket timing; either way it is an UpstreamError.
    const error = await upstreamErrorOf(provider().stream(azureEndpoint(), BODY, options()).then(drain));
    expect(error.kind).toBe("connection");
    expect(error.message).toContain("azure-eu");
  });

  it("maps a break after the first chunk has arrived to a connection UpstreamError raised by the iteration", async () => {
    let cut: () => void = () => undefined;
    const bare: Server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] })}\n\n`);
        cut = () => response.socket?.destroy();
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const stream = await provider().stream(azureEndpoint({ baseUrl: url }), BODY, options());
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      expect(first.value?.choices[0]?.delta?.content).toBe("partial");
      cut();
      const error = await upstreamErrorOf(iterator.next());
      expect(error.kind).toBe("connection");
    } finally {
      bare.closeAllConnections();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });
});

describe("OpenAiCompletionProvider: clients and connections", () => {
  it("sends a rotated Key Vault key on the next call", async () => {
    const keys = ["key-one-0123456789", "key-one-0123456789", "key-two-0123456789"];
    let reads = 0;
    const withKey = provider({ readApiKey: async () => keys[Math.min(reads++, keys.length - 1)] ?? "" });
    const endpoint = azureEndpoint({ auth: { kind: "key-vault-secret", secretName: "aoai-eu-key" } });
    for (let call = 0; call < 3; call += 1) await withKey.complete(endpoint, BODY, options());
    expect(mock.requests().map((request) => request.headers["api-key"])).toEqual(keys);
  });

  it("follows a policy reload that moves an endpoint to another URL", async () => {
    let received = 0;
    const other: Server = createServer((request, response) => {
      received += 1;
      request.resume();
      request.on("end", () => response.writeHead(500, { "content-type": "application/json", "x-should-retry": "false" }).end('{"error":{"message":"other"}}'));
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const shared = provider();
      await shared.complete(azureEndpoint(), BODY, options());
      const moved = azureEndpoint({ baseUrl: `http://127.0.0.1:${(other.address() as AddressInfo).port}` });
      const error = await upstreamErrorOf(shared.complete(moved, BODY, options()));
      expect([error.kind, received, mock.requests().length]).toEqual(["server_error", 1, 1]);
    } finally {
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("maps a non-streamed answer cut short to a connection failure", async () => {
    const bare: Server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "application/json", "content-length": "4000" });
        response.write('{"id":"c1","choices":[');
        setTimeout(() => response.socket?.destroy(), 20);
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const error = await upstreamErrorOf(provider().complete(azureEndpoint({ baseUrl: url }), BODY, options()));
      expect(error.kind).toBe("connection");
    } finally {
      bare.closeAllConnections();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });

  it("closes the upstream connection of a stream when the caller aborts", async () => {
    let upstreamClosed = false;
    const bare: Server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] })}\n\n`);
        response.on("close", () => (upstreamClosed = true));
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const controller = new AbortController();
      const stream = await provider().stream(azureEndpoint({ baseUrl: url }), BODY, options({ abortSignal: controller.signal }));
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value?.choices[0]?.delta?.content).toBe("partial");
      controller.abort();
      // A stream the caller aborted ends quietly; what matters is that the upstream call stops.
      await iterator.next().catch(() => undefined);
      for (let attempt = 0; attempt < 200 && !upstreamClosed; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(upstreamClosed).toBe(true);
    } finally {
      bare.closeAllConnections();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });
});

describe("OpenAiCompletionProvider: takes nothing from the ambient environment", () => {
  /** What a developer's shell often holds: npm start's exports, or their own Azure OpenAI and OpenAI settings. */
  const AMBIENT = {
    OPENAI_BASE_URL: "http://127.0.0.1:9/api/v1",
    OPENAI_API_KEY: "sk-ambient",
    AZURE_OPENAI_API_KEY: "ambient-azure-key",
    AZURE_OPENAI_ENDPOINT: "http://127.0.0.1:9",
    OPENAI_ORG_ID: "org-ambient",
    OPENAI_PROJECT_ID: "proj-ambient",
  };
  let saved: Record<string, string | undefined>;

  beforeEach(() => {
    saved = Object.fromEntries(Object.keys(AMBIENT).map((name) => [name, process.env[name]]));
    Object.assign(process.env, AMBIENT);
    return () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    };
  });

  it("an Azure endpoint is called at its policy URL with its own key, whatever OPENAI_BASE_URL says", async () => {
    const result = await provider().complete(azureEndpoint(), BODY, options());
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    expect(mock.requests()[0]?.deployment).toBe("mini-deployment");
    expect(mock.requests()[0]?.headers["api-key"]).toBe("unused-local");
  });

  it("a managed-identity endpoint sends the token, and AZURE_OPENAI_API_KEY does not get in the way", async () => {
    const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: "entra-access-token", expiresOnTimestamp: Date.now() + 3_600_000 }) };
    await provider({ credential }).complete(azureEndpoint({ id: "azure-mi", auth: { kind: "managed-identity" } }), BODY, options());
    expect(mock.requests()[0]?.headers.authorization).toBe("Bearer entra-access-token");
    expect(mock.requests()[0]?.headers["api-key"]).toBeUndefined();
  });

  it("the OpenAI platform gets no organization or project header from OPENAI_ORG_ID / OPENAI_PROJECT_ID", async () => {
    await provider().complete(platformEndpoint(), BODY, options());
    const headers = mock.requests()[0]?.headers ?? {};
    expect(headers["openai-organization"]).toBeUndefined();
    expect(headers["openai-project"]).toBeUndefined();
  });

  it("OPENAI_LOG=debug logs nothing of the request (its body is the prompt)", async () => {
    // Set here only (the openai SDK, which the adapter used, cached its console logger per level at first use).
    process.env.OPENAI_LOG = "debug";
    const logged: unknown[] = [];
    const spies = (["debug", "info", "log", "warn"] as const).map((method) => vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(...args)));
    try {
      await provider().complete(azureEndpoint({ id: "azure-log" }), BODY, options());
    } finally {
      for (const spy of spies) spy.mockRestore();
      Reflect.deleteProperty(process.env, "OPENAI_LOG");
    }
    expect(JSON.stringify(logged)).not.toContain("hello there");
  });
});
