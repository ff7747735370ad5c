import { type EntraPolicy, type PolicyInput } from "../../src/core/policy/schema.js";

export const UPSTREAMS = {
  euWestZdr: { name: "eu-west-zdr", region: "westeurope" },
  euNorthZdr: { name: "eu-north-zdr", region: "swedencentral" },
  euWestStandard: { name: "eu-west-standard", region: "westeurope" },
  usEastStandard: { name: "us-east-standard", region: "eastus" },
} as const;
export type UpstreamName = keyof typeof UPSTREAMS;

/** A policy exercising every rule of the request path, pointed at the test's mock upstreams. */
export function integrationPolicy(urls: Readonly<Record<UpstreamName, string>>, entra: EntraPolicy): PolicyInput {
  const endpoint = (id: string, url: string, region: string, residency: "eu" | "us", endpointClass: "zdr" | "standard", priority: number) => ({
    id,
    provider: "azure" as const,
    baseUrl: url,
    region,
    residency,
    class: endpointClass,
    deployments: ["gpt-4o-mini"],
    priority,
    auth: { kind: "none" as const },
    timeoutInMs: 5_000,
  });
  return {
    version: 1,
    projects: [
      {
        id: "acme",
        residency: "eu",
        models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }],
        defaultClassification: "internal",
        maxTokens: 1024,
        maxMessages: 8,
        auditOnPublishFailure: "outbox",
      },
      { id: "other", residency: "us", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }] },
    ],
    members: [
      { principal: "owner@example.com", roles: { acme: "owner" } },
      { principal: "reader@example.com", roles: { acme: "reader" } },
      { principal: "outsider@example.com", roles: { other: "member" } },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "models.list"], ipAllowlist: ["127.0.0.0/8", "::1/128"] },
      { id: "lister", project: "acme", permissions: ["models.list"] },
      { id: "remote", project: "acme", permissions: ["chat.completions"], ipAllowlist: ["10.0.0.0/8"] },
      { id: "other-app", project: "other", permissions: ["chat.completions", "models.list"] },
    ],
    endpoints: [
      endpoint("eu-west-zdr", urls.euWestZdr, "westeurope", "eu", "zdr", 2),
      endpoint("eu-north-zdr", urls.euNorthZdr, "swedencentral", "eu", "zdr", 3),
      endpoint("eu-west-standard", urls.euWestStandard, "westeurope", "eu", "standard", 1),
      endpoint("us-east-standard", urls.usEastStandard, "eastus", "us", "standard", 1),
    ],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } },
    entra,
    network: { trustedProxyHops: 1 },
    routing: { maxAttempts: 3, totalDeadlineInMs: 10_000, breaker: { consecutiveFailures: 50, cooldownInMs: 1_000 } },
  };
}
