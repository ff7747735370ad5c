import { type HttpRequest, type InvocationContext } from "@azure/functions";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningLocalHost, startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { type AppServices } from "../../src/composition/appServices.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";

/**
 * Telemetry through the local Functions host, as it runs in Azure with `telemetryMode: OpenTelemetry`:
 * the request's span is parented under the invocation's trace context (the host's span), which itself
 * continues the caller's traceparent. Spans go through the real SDK and OTLP exporter to a sink here.
 */

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
}

let directory: string;
let stack: LocalStack;
let mock: RunningMockOpenAi;
let sink: Server;
let host: RunningLocalHost;
let services: AppServices;
let apiKey: string;
const exported: OtlpSpan[] = [];
/** The trace context each chatCompletions invocation was given by the host. */
const invocations: (string | undefined)[] = [];

function policy(upstreamUrl: string): PolicyInput {
  return {
    version: 1,
    projects: [{ id: "acme", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }], defaultClassification: "internal" }],
    serviceAccounts: [{ id: "app", project: "acme", permissions: ["chat.completions"] }],
    endpoints: [
      { id: "eu-west", provider: "azure", baseUrl: upstreamUrl, region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt-4o-mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 },
    ],
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-test-"));
  sink = createServer((request, response) => {
    void readBody(request).then((body) => {
      if (request.url === "/v1/traces") {
        const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const resource of parsed.resourceSpans) for (const scope of resource.scopeSpans) exported.push(...scope.spans);
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", () => resolve()));
  [stack, mock] = await Promise.all([startLocalStack({ stateDirectory: directory }), startMockOpenAi({ name: "eu-west", region: "westeurope" })]);
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(policy(mock.url)));
  Object.assign(process.env, stack.environment, {
    PALISADE_POLICY: policyPath,
    PALISADE_LOG_LEVEL: "error",
    PALISADE_TELEMETRY_EXPORTER: "otlp",
    PALISADE_TRACE_SAMPLE_RATIO: "1",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
  });
  const { getAppServices } = await import("../../src/composition/appServices.js");
  services = await getAppServices();
  expect(services.telemetry.enabled).toBe(true);
  apiKey = (await services.apiKeys.create({ project: "acme", serviceAccount: "app", expiresInMs: 3_600_000 })).apiKey;
  const definitions = (await loadFunctionDefinitions()).map((definition) => {
    if (definition.kind !== "http" || definition.name !== "chatCompletions") return definition;
    const handler = definition.options.handler;
    return {
      ...definition,
      options: {
        ...definition.options,
        handler: (request: HttpRequest, context: InvocationContext) => {
          invocations.push(context.traceContext?.traceParent);
          return handler(request, context);
        },
      },
    };
  });
  host = await startLocalHost({ definitions, log: () => undefined });
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await services?.close().catch(() => undefined);
  await mock?.stop();
  await stack?.stop();
  await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
  if (directory) await rm(directory, { recursive: true, force: true });
});

const ask = (headers: Record<string, string> = {}) =>
  fetch(`${host.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }),
  });

describe("spans through the local Functions host", () => {
  it("parents the request span under the invocation's trace context, which continues the caller's; the upstream hangs under the attempt", async () => {
    expect((await ask({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` })).status).toBe(200);
    expect((await ask()).status).toBe(200);
    // Shutting the services down flushes the batched spans to the sink.
    await services.close();

    const [continued, fresh] = invocations;
    const invocationSpanId = continued?.split("-")[2];
    expect(continued).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    const roots = exported.filter((span) => span.name === "palisade.chat_completion");
    expect(roots).toHaveLength(2);
    const root = roots.find((span) => span.traceId === TRACE_ID);
    expect(root?.parentSpanId).toBe(invocationSpanId);
    expect(root?.parentSpanId).not.toBe(CALLER_SPAN_ID);

    // Without a caller's traceparent, the host's new trace is the one continued.
    const other = roots.find((span) => span !== root);
    expect(fresh).toBeDefined();
    expect(other?.traceId).toBe(fresh?.split("-")[1]);
    expect(other?.parentSpanId).toBe(fresh?.split("-")[2]);

    const attempt = exported.find((span) => span.name === "chat gpt-4o-mini" && span.traceId === TRACE_ID);
    expect(attempt?.parentSpanId).toBe(root?.spanId);
    const upstream = mock.requests().find((request) => request.headers.traceparent?.includes(TRACE_ID));
    expect(upstream?.headers.traceparent).toBe(`00-${TRACE_ID}-${attempt?.spanId ?? "none"}-01`);
  });
});
