import { type EntraPolicy, type PolicyInput } from "../../src/core/policy/schema.js";

/**
 * Upstreams of the hardening suites: two EU endpoints of each class (so failover has somewhere to go
 * inside the residency) and one US endpoint (where EU traffic must never land).
 */
export const HARDENING_UPSTREAMS = {
  euWestStandard: { name: "eu-west-standard", region: "westeurope" },
  euNorthStandard: { name: "eu-north-standard", region: "swedencentral" },
  euWestZdr: { name: "eu-west-zdr", region: "westeurope" },
  euNorthZdr: { name: "eu-north-zdr", region: "swedencentral" },
  usEastStandard: { name: "us-east-standard", region: "eastus" },
} as const;
export type HardeningUpstream = keyof typeof HARDENING_UPSTREAMS;

export const MODEL = "gpt-4o-mini";
/** Small, so the fuzzer can send bodies on both sides of the limit cheaply. */
export const MAX_BODY_BYTES = 65_536;

export interface HardeningPolicyOptions {
  readonly entra?: EntraPolicy;
  /** Per-attempt upstream timeout (the "slow upstream" fault waits longer than this). */
  readonly upstreamTimeoutInMs?: number;
  readonly breakerCooldownInMs?: number;
}

/**
 * Projects: `acme` (EU, audit to the outbox when Service Bus is down), `strict` (EU, fail closed on
 * audit), `other` (US). Service accounts: `app` (acme, loopback only), `strict-app`, `reader-app`
 * (models.list only), `other-app` (other project).
 */
export function hardeningPolicy(urls: Readonly<Record<HardeningUpstream, string>>, options: HardeningPolicyOptions = {}): PolicyInput {
  const timeoutInMs = options.upstreamTimeoutInMs ?? 5_000;
  const endpoint = (id: string, url: string, region: string, residency: "eu" | "us", endpointClass: "zdr" | "standard", priority: number) => ({
    id,
    provider: "azure" as const,
    baseUrl: url,
    region,
    residency,
    class: endpointClass,
    deployments: [MODEL],
    priority,
    auth: { kind: "none" as const },
    timeoutInMs,
  });
  const model = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models: model, maxTokens: 1024, maxMessages: 16, auditOnPublishFailure: "outbox" },
      { id: "strict", residency: "eu", models: model, maxTokens: 1024, auditOnPublishFailure: "fail_closed" },
      { id: "other", residency: "us", models: model },
    ],
    members: [
      { principal: "owner@example.com", roles: { acme: "owner" } },
      { principal: "reader@example.com", roles: { acme: "reader" } },
      { principal: "outsider@example.com", roles: { other: "member" } },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "models.list"], ipAllowlist: ["127.0.0.0/8", "::1/128"] },
      { id: "strict-app", project: "strict", permissions: ["chat.completions"] },
      { id: "reader-app", project: "acme", permissions: ["models.list"] },
      { id: "remote", project: "acme", permissions: ["chat.completions"], ipAllowlist: ["10.0.0.0/8"] },
      { id: "other-app", project: "other", permissions: ["chat.completions", "models.list"] },
    ],
    endpoints: [
      endpoint("eu-west-standard", urls.euWestStandard, "westeurope", "eu", "standard", 1),
      endpoint("eu-north-standard", urls.euNorthStandard, "swedencentral", "eu", "standard", 2),
      endpoint("eu-west-zdr", urls.euWestZdr, "westeurope", "eu", "zdr", 1),
      endpoint("eu-north-zdr", urls.euNorthZdr, "swedencentral", "eu", "zdr", 2),
      endpoint("us-east-standard", urls.usEastStandard, "eastus", "us", "standard", 1),
    ],
    pricing: { [MODEL]: { inputPer1M: 0.15, outputPer1M: 0.6 } },
    ...(options.entra ? { entra: options.entra } : {}),
    network: { trustedProxyHops: 1 },
    limits: { maxBodyBytes: MAX_BODY_BYTES },
    routing: {
      // Internal data only on standard endpoints, pii only on zero-data-retention ones: each class has
      // exactly two EU candidates, so every failover below has one known place to go.
      allowedClasses: { public: ["standard"], internal: ["standard"], confidential: ["standard"], pii: ["zdr"], phi: ["zdr"] },
      maxAttempts: 3,
      totalDeadlineInMs: 15_000,
      maxRetryAfterInMs: 2_000,
      breaker: { consecutiveFailures: 3, cooldownInMs: options.breakerCooldownInMs ?? 500 },
    },
  };
}

/** One EU standard endpoint serving MODEL for chat, Responses and embeddings at `url` (a scripted or recording upstream). */
export const oneEndpoint = (id: string, url: string): PolicyInput["endpoints"][number] => ({
  id,
  provider: "azure",
  baseUrl: url,
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: [MODEL],
  operations: ["chat", "responses", "embeddings"],
  auth: { kind: "none" },
  timeoutInMs: 5_000,
});

/** The OpenAI error shape every /api/v1 refusal must have. */
export interface OpenAiErrorShape {
  readonly error: { readonly message: string; readonly type: string; readonly code: string; readonly param: string | null };
}

export function isOpenAiError(value: unknown): value is OpenAiErrorShape {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value).error;
  if (typeof error !== "object" || error === null) return false;
  const { message, type, code, param } = error as Record<string, unknown>;
  return typeof message === "string" && message.length > 0 && typeof type === "string" && typeof code === "string" && (param === null || typeof param === "string") && "param" in error;
}
