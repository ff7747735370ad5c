import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { type AuditEvent, type AuditEventType } from "../../../src/core/audit/AuditEvent.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { invalidToken } from "../../../src/core/auth/authErrors.js";
import { Authenticator } from "../../../src/core/auth/Authenticator.js";
import { type TokenVerifier, type VerifiedClaims } from "../../../src/core/auth/TokenVerifier.js";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError, type PalisadeError } from "../../../src/core/errors.js";
import { createChatOperation } from "../../../src/core/gateway/operations/chat/chatOperation.js";
import { GovernedPipeline } from "../../../src/core/gateway/pipeline/GovernedPipeline.js";
import { UsageFlush } from "../../../src/core/gateway/UsageFlush.js";
import { type GatewayRequest, type GatewayResponse } from "../../../src/core/gateway/GatewayRequest.js";
import { type InputCheck } from "../../../src/core/gateway/pipeline/PipelineDeps.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { type LogFields, type Logger } from "../../../src/core/logger.js";
import { type Policy, type PolicyInput, policySchema } from "../../../src/core/policy/schema.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { type GatewayTelemetry } from "../../../src/core/telemetry/GatewayTelemetry.js";
import { type CompletionProvider } from "../../../src/core/upstream/CompletionProvider.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { InMemoryResponseCache } from "../../fakes/InMemoryResponseCache.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { RecordingAuditPublisher } from "../../fakes/RecordingAuditPublisher.js";

export type ProjectInput = PolicyInput["projects"][number];

export const START_IN_MS = Date.UTC(2026, 2, 10, 12, 0, 15);
export const POLICY_VERSION = "c".repeat(64);
export const DIGEST_KEY = new Uint8Array(Buffer.from("0123456789abcdef0123456789abcdef", "utf8"));
export const APP_IP = "10.1.2.3";

/** Valid test card numbers (Luhn), formatted as people type them. */
export const CARD = "4111 1111 1111 1111";
export const OTHER_CARD = "5555 5555 5555 4444";

const endpoint = (id: string, region: string, residency: "eu" | "us", endpointClass: "zdr" | "standard", priority: number) => ({
  id,
  provider: "azure" as const,
  baseUrl: `https://${id}.example.invalid`,
  region,
  residency,
  class: endpointClass,
  deployments: ["mini"],
  priority,
  auth: { kind: "none" as const },
  timeoutInMs: 5_000,
});

/**
 * Project `acme` (EU, default class internal, cache on) is the one under test; `overrides` change it.
 * `tokyo` (APAC) has no endpoint in its residency; `other` (US) holds the outsider.
 */
export function gatewayPolicy(overrides: Partial<ProjectInput> = {}, extra: Partial<PolicyInput> = {}): Policy {
  return policySchema.parse({
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "mini" }], maxTokens: 1024, maxMessages: 8, cache: { ttlSeconds: 60 }, ...overrides },
      { id: "tokyo", residency: "apac", models: [{ name: "gpt-4o-mini", deployment: "mini" }] },
      { id: "other", residency: "us", models: [{ name: "gpt-4o-mini", deployment: "mini" }] },
    ],
    members: [
      { principal: "owner@example.com", roles: { acme: "owner" } },
      { principal: "reader@example.com", roles: { acme: "reader" } },
      { principal: "outsider@example.com", roles: { other: "member" } },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "models.list"], ipAllowlist: ["10.0.0.0/8"] },
      { id: "lister", project: "acme", permissions: ["models.list"] },
      { id: "tokyo-app", project: "tokyo", permissions: ["chat.completions"] },
    ],
    endpoints: [
      endpoint("eu-west-std", "westeurope", "eu", "standard", 1),
      endpoint("eu-west-zdr", "westeurope", "eu", "zdr", 2),
      endpoint("eu-north-zdr", "swedencentral", "eu", "zdr", 3),
      endpoint("us-east-std", "eastus", "us", "standard", 1),
    ],
    pricing: { mini: { inputPer1M: 0.15, outputPer1M: 0.6 } },
    routing: { maxAttempts: 3, totalDeadlineInMs: 30_000 },
    ...extra,
  } satisfies PolicyInput);
}

/** Entra tokens for tests: `jwt.<name>.sig` maps to that user's claims; anything else is refused. */
class FakeTokenVerifier implements TokenVerifier {
  async verify(token: string): Promise<VerifiedClaims> {
    const name = /^jwt\.([a-z]+)\.sig$/.exec(token)?.[1];
    if (name === undefined) throw invalidToken("the signature does not verify.");
    return { subject: name, objectId: null, tenantId: null, names: [`${name}@example.com`], displayName: null, roles: [], appId: null, expiresAtInSeconds: Math.floor(START_IN_MS / 1000) + 3600 };
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: "debug", message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: "error", message, fields });
  }
}

export interface HarnessOptions {
  readonly project?: Partial<ProjectInput>;
  readonly policy?: Partial<PolicyInput>;
  readonly cache?: boolean;
  readonly digestKey?: Uint8Array | null;
  /** Traces and metrics (test/core/telemetry passes one over the SDK's in-memory exporters). */
  readonly telemetry?: (clock: ManualClock) => GatewayTelemetry;
  /** Leases and merged settlements (off by default: every request reserves and settles on its own). */
  readonly limits?: { readonly leaseFraction?: number; readonly settleEveryInMs?: number };
  /** The upstream the chat operation calls (default: the harness's FakeCompletionProvider). */
  readonly upstream?: CompletionProvider;
  /** Stages between classify and limit (content safety). */
  readonly checks?: readonly InputCheck[];
  /** Gives the pipeline a refusal fallback (the outbox in production), exposed as `h.refusalFallback`. */
  readonly refusalFallback?: boolean;
}

export type Harness = Awaited<ReturnType<typeof gatewayHarness>>;

/** Service accounts and one endpoint for the Responses API only (`acme/app` may create Responses). */
export const RESPONSES_ONLY_POLICY: Partial<PolicyInput> = {
  serviceAccounts: [
    { id: "app", project: "acme", permissions: ["responses.create"], ipAllowlist: ["10.0.0.0/8"] },
    { id: "lister", project: "acme", permissions: ["models.list"] },
    { id: "tokyo-app", project: "tokyo", permissions: ["chat.completions"] },
  ],
  endpoints: [{ id: "eu-west-std", provider: "azure", baseUrl: "https://eu-west-std.example.invalid", region: "westeurope", residency: "eu", class: "standard", deployments: ["mini"], operations: ["responses"], priority: 1, auth: { kind: "none" }, timeoutInMs: 5_000 }],
};

/** The governed pipeline with the chat operation, wired to fakes, with keys for `acme/app`, `acme/lister` and `tokyo/tokyo-app`. */
export async function gatewayHarness(options: HarnessOptions = {}) {
  const policy = gatewayPolicy(options.project ?? {}, options.policy ?? {});
  const clock = new ManualClock(START_IN_MS);
  const logger = new RecordingLogger();
  const keyStore = new InMemoryApiKeyStore();
  const apiKeys = new ApiKeyService({ store: keyStore, clock, random: (bytes) => randomBytes(bytes) });
  const authenticator = new Authenticator({ apiKeys, tokens: new FakeTokenVerifier(), policy });
  const usage = new InMemoryUsageCounterStore();
  const limits = new LimitGuard({ store: usage, clock, policy, logger, ...options.limits });
  const health = new EndpointHealth(clock, policy.routing.breaker);
  const provider = new FakeCompletionProvider();
  const audit = new RecordingAuditPublisher();
  const refusalFallback = options.refusalFallback === true ? new RecordingAuditPublisher() : null;
  const publisherProjects: (string | null)[] = [];
  const cache = new InMemoryResponseCache(clock);
  let eventCounter = 0;
  const pipeline = new GovernedPipeline({
    policy,
    policyVersion: POLICY_VERSION,
    clock,
    logger,
    newEventId: () => `00000000-0000-4000-8000-${String(++eventCounter).padStart(12, "0")}`,
    authenticator,
    limits,
    health,
    auditPublisherFor: (project) => {
      publisherProjects.push(project?.id ?? null);
      return audit;
    },
    cache: options.cache === false ? null : { store: cache, secret: new Uint8Array(32).fill(7) },
    digestKey: options.digestKey === undefined ? DIGEST_KEY : options.digestKey,
    ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry(clock) }),
    ...(options.checks === undefined ? {} : { checks: options.checks }),
    ...(refusalFallback === null ? {} : { refusalFallback }),
  });
  const chat = createChatOperation(options.upstream ?? provider);
  const usageFlush = new UsageFlush({ policy, limits, events: pipeline.events, auditPublisherFor: () => audit });
  /** The chat route as the function file runs it: the pipeline with the chat operation. */
  const service = {
    handle: (input: GatewayRequest): Promise<GatewayResponse> => pipeline.handle(chat, input),
    flushUsage: (flush: { readonly everything?: boolean } = {}): Promise<void> => usageFlush.run(flush),
  };
  const keys = {
    app: (await apiKeys.create({ project: "acme", serviceAccount: "app", expiresInMs: 86_400_000 })).apiKey,
    lister: (await apiKeys.create({ project: "acme", serviceAccount: "lister", expiresInMs: 86_400_000 })).apiKey,
    tokyo: (await apiKeys.create({ project: "tokyo", serviceAccount: "tokyo-app", expiresInMs: 86_400_000 })).apiKey,
  };
  let requestCounter = 0;

  /** A request by `acme/app` from an allowed address, saying `content`; everything can be overridden. */
  const request = (overrides: Partial<GatewayRequest> & { content?: string; extraBody?: Record<string, unknown> } = {}): GatewayRequest => {
    const { content, extraBody, ...rest } = overrides;
    return {
      requestId: `req-${String(++requestCounter).padStart(8, "0")}`,
      authorization: `Bearer ${keys.app}`,
      apiKey: null,
      requestedProject: null,
      dataClassHeader: undefined,
      residencyHeader: undefined,
      clientIp: APP_IP,
      traceparent: undefined,
      body: { model: "gpt-4o-mini", messages: [{ role: "user", content: content ?? "hello" }], max_tokens: 50, ...extraBody },
      ...rest,
    };
  };

  return { policy, clock, logger, apiKeys, keyStore, usage, limits, health, provider, audit, refusalFallback, publisherProjects, cache, service, pipeline, chat, keys, request };
}

export function jsonResponse(response: GatewayResponse): { status: number; headers: Readonly<Record<string, string>>; body: Record<string, unknown> } {
  if (response.kind !== "json") throw new Error(`expected a JSON response, got ${response.kind}`);
  return { status: response.status, headers: response.headers, body: response.body as Record<string, unknown> };
}

export async function refusalOf(promise: Promise<unknown>): Promise<PalisadeError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (outcome === null) throw new Error("expected the request to be refused, but it succeeded");
  if (!isPalisadeError(outcome)) throw new Error(`expected a PalisadeError, got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : typeof outcome}`);
  return outcome;
}

/** The single event of a decision, asserting there is exactly one of the given type. */
export function onlyEvent(events: readonly AuditEvent[], type: AuditEventType): AuditEvent {
  const matching = events.filter((event) => event.type === type);
  expect(matching.map((event) => event.type)).toEqual([type]);
  const [event] = matching;
  if (event === undefined) throw new Error("unreachable");
  return event;
}

export async function collect(events: AsyncIterable<string>): Promise<string[]> {
  const frames: string[] = [];
  for await (const frame of events) frames.push(frame);
  return frames;
}

/** The JSON payloads of SSE frames (the `[DONE]` marker excluded). */
export function payloadsOf(frames: readonly string[]): Record<string, unknown>[] {
  return frames.filter((frame) => frame !== "data: [DONE]\n\n").map((frame) => JSON.parse(frame.slice("data: ".length)) as Record<string, unknown>);
}

/** The content deltas of streamed chunks, joined. */
export function streamedText(frames: readonly string[]): string {
  return payloadsOf(frames)
    .flatMap((payload) => (Array.isArray(payload.choices) ? (payload.choices as { delta?: { content?: string | null } }[]) : []))
    .map((choice) => choice.delta?.content ?? "")
    .join("");
}
