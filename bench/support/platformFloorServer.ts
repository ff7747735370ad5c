import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { ServiceBusClient } from "@azure/service-bus";
import { randomUUID } from "node:crypto";
import { startLocalHost } from "../../local/host/index.js";
import { OpenAiCompletionProvider } from "../../src/adapters/openai/OpenAiCompletionProvider.js";
import { readJsonBody } from "../../src/adapters/http/readJsonBody.js";
import { coalesceAmqpWrites } from "../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { AUDIT_EVENT_SCHEMA_VERSION, type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type EndpointPolicy } from "../../src/core/policy/schema.js";
import { type FunctionDefinition } from "../../src/functions/definition.js";
import { serveUntilStopped } from "./benchChild.js";

/**
 * The platform floor, for the benchmark: what a request costs in the parts Palisade is built on and
 * cannot leave out, with none of its own checks. The same local Functions host (`HttpRequest` in,
 * `HttpResponse` out), the same upstream adapter (`OpenAiCompletionProvider`, its own client on
 * keep-alive node:http) and the same Service Bus publisher (one audit-sized event per request, awaited, as
 * `fail_closed` does). No authentication, RBAC, DLP, token estimate, limits, routing, hashing or
 * telemetry. The gateway's CPU per request minus this one is the cost of governance itself.
 *
 * Settings come from the parent: the local stack's `SERVICEBUS_CONNECTION_STRING` and
 * `SERVICEBUS_AUDIT_QUEUE`, plus `PALISADE_FLOOR_UPSTREAM_URL` and `PALISADE_FLOOR_DEPLOYMENT`.
 * Diagnostic: `PALISADE_FLOOR_PARTS=host,upstream` (any of host, upstream, servicebus, admission;
 * host, upstream and servicebus by default) leaves the other parts out, to split the floor by part.
 * Without `upstream` the answer is a fixed completion of the mock's size. `admission` adds the
 * `fail_closed` floor's other round trip: a `request_admitted`-sized event published and awaited
 * BEFORE the upstream call (docs/audit.md: the decision is durable before the model sees the prompt).
 * `PALISADE_FLOOR_PORT` serves on that port (the side-by-side harness's `$PORT`), else a free one.
 * Serves until stopped, as the gateway server does (`serveUntilStopped`; the API key is unused).
 */

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

/** An `api_call` event of the size the gateway publishes (metadata, digests and counts). */
function apiCallEvent(requestId: string): AuditEvent {
  return {
    schemaVersion: AUDIT_EVENT_SCHEMA_VERSION,
    eventId: randomUUID(),
    ts: new Date().toISOString(),
    type: "api_call",
    actor: { kind: "service-account", id: "bench-app", keyId: "pk_floor0000000000" },
    project: "bench-floor",
    model: "gpt-4o-mini",
    deployment: "gpt-4o-mini",
    endpointId: "eu-west-standard",
    region: "westeurope",
    classification: "internal",
    status: "success",
    httpStatus: 200,
    tokens: { input: 67, output: 32 },
    costUsd: 0.0000293,
    latencyInMs: 2,
    dlpFindings: {},
    dlpAction: "redact",
    requestId,
    traceId: "0af7651916cd43dd8448eb211c80319c",
    policyVersion: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    contentDigest: "hmac-sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    details: { endpointsTried: 1 },
  };
}

/** A `request_admitted` event of the size the gateway publishes before the upstream call. */
function admissionEvent(requestId: string): AuditEvent {
  const { tokens: _tokens, costUsd: _costUsd, latencyInMs: _latencyInMs, httpStatus: _httpStatus, ...admitted } = apiCallEvent(requestId);
  return { ...admitted, type: "request_admitted", details: { operation: "chat.completions", candidates: "eu-west-standard", reservedTokens: 1091, streamed: false } };
}

/** What the mock upstream answers, for runs without the upstream part. */
function fixedCompletion(model: string): Record<string, unknown> {
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Freight and the new warehouse raised costs faster than revenue grew." } }],
    usage: { prompt_tokens: 67, completion_tokens: 12, total_tokens: 79 },
  };
}

async function main(): Promise<void> {
  const deployment = required("PALISADE_FLOOR_DEPLOYMENT");
  const endpoint: EndpointPolicy = {
    id: "eu-west-standard",
    provider: "azure",
    baseUrl: required("PALISADE_FLOOR_UPSTREAM_URL"),
    region: "westeurope",
    residency: "eu",
    class: "standard",
    deployments: [deployment],
    priority: 1,
    apiVersion: "2024-10-21",
    auth: { kind: "none" },
    timeoutInMs: 10_000,
  };
  const upstream = new OpenAiCompletionProvider({ credential: null, readApiKey: null });
  // The same client options and socket treatment as the app's audit publisher: bounded retries on the
  // request path, and one write per turn with Nagle off (src/composition/audit.ts). Without it every
  // publish can wait out the peer's delayed ACK (~40 ms: docs/benchmarks.md, "Nagle's algorithm").
  coalesceAmqpWrites();
  const serviceBus = new ServiceBusClient(required("SERVICEBUS_CONNECTION_STRING"), {
    retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, timeoutInMs: 5_000 },
  });
  const publisher = new ServiceBusAuditPublisher(serviceBus.createSender(process.env.SERVICEBUS_AUDIT_QUEUE ?? "audit-events"), () => serviceBus.close());

  const parts = new Set((process.env.PALISADE_FLOOR_PARTS ?? "host,upstream,servicebus").split(","));
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const body = (await readJsonBody(request, 1_048_576)) as Record<string, unknown>;
    if (parts.has("admission")) await publisher.publish([admissionEvent(context.invocationId)]);
    const answer = parts.has("upstream")
      ? (await upstream.complete(endpoint, body, { deployment, timeoutInMs: endpoint.timeoutInMs, requestId: context.invocationId })).body
      : fixedCompletion(deployment);
    if (parts.has("servicebus")) await publisher.publish([apiCallEvent(context.invocationId)]);
    return { status: 200, jsonBody: answer };
  };
  const definitions: FunctionDefinition[] = [
    { kind: "http", name: "platformFloor", options: { route: "v1/chat/completions", methods: ["POST"], authLevel: "anonymous", handler } },
  ];
  const port = process.env.PALISADE_FLOOR_PORT;
  const host = await startLocalHost({ definitions, log: () => undefined, ...(port ? { port: Number(port) } : {}) });

  serveUntilStopped({ url: host.url, pid: process.pid, apiKey: "unused" }, async () => {
    await host.stop().catch(() => undefined);
    await publisher.close();
  }, port === undefined);
}

main().catch((error: unknown) => {
  process.stderr.write(`platform floor server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
