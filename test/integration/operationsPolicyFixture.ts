import { afterAll, beforeAll, beforeEach } from "vitest";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";

export const OPERATION_UPSTREAMS = {
  chat: { name: "eu-chat", region: "westeurope" },
  embed: { name: "eu-embed", region: "westeurope" },
  zdr: { name: "eu-zdr", region: "swedencentral" },
} as const;
export type OperationUpstream = keyof typeof OPERATION_UPSTREAMS;

const ALL = ["chat.completions", "models.list", "embeddings.create", "responses.create"] as const;

/** Four projects (defaults; one that allows stored responses and token input; another that allows stored responses; one with a budget that allows them) over a chat, an embeddings and a zdr endpoint. */
export function operationsPolicy(urls: Readonly<Record<OperationUpstream, string>>): PolicyInput {
  const endpoint = (id: string, url: string, endpointClass: "standard" | "zdr", deployments: string[], operations?: ("chat" | "embeddings" | "responses")[]) => ({
    id,
    provider: "azure" as const,
    baseUrl: url,
    region: id === "eu-zdr" ? "swedencentral" : "westeurope",
    residency: "eu" as const,
    class: endpointClass,
    deployments,
    auth: { kind: "none" as const },
    timeoutInMs: 5_000,
    // The zero-data-retention endpoint serves what the standard ones may not (pii), not before them.
    priority: endpointClass === "zdr" ? 10 : 1,
    ...(operations ? { operations } : {}),
  });
  const models = [
    { name: "gpt-4o-mini", deployment: "gpt-4o-mini" },
    { name: "text-embedding-3-small", deployment: "embed-small" },
  ];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, maxMessages: 16, auditOnPublishFailure: "outbox" },
      { id: "open", residency: "eu", models, responses: { store: "allow" }, embeddings: { tokenInput: "allow" }, uninspectableInputs: "allow" },
      { id: "neighbour", residency: "eu", models, responses: { store: "allow" } },
      // A daily budget: its usage is counted (background Responses' settlement is checked on it).
      { id: "metered", residency: "eu", models, responses: { store: "allow" }, budget: { dailyUsd: 100 }, tags: { team: "jobs" } },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: [...ALL] },
      { id: "chat-only", project: "acme", permissions: ["chat.completions"] },
      { id: "open-app", project: "open", permissions: [...ALL] },
      { id: "neighbour-app", project: "neighbour", permissions: [...ALL] },
      { id: "metered-app", project: "metered", permissions: [...ALL] },
    ],
    endpoints: [
      endpoint("eu-chat", urls.chat, "standard", ["gpt-4o-mini"]),
      endpoint("eu-embed", urls.embed, "standard", ["embed-small"], ["embeddings"]),
      endpoint("eu-zdr", urls.zdr, "zdr", ["gpt-4o-mini", "embed-small"], ["chat", "embeddings", "responses"]),
    ],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 }, "embed-small": { embeddingsPer1M: 0.02 } },
    routing: { maxAttempts: 2, totalDeadlineInMs: 10_000 },
  };
}

/**
 * The gateway stack of an operations test file, over the three upstreams and this policy: started before
 * the file's tests (the keys named are created then), stopped after them, the mocks' records cleared
 * before each test. `stack()` is the running stack, `key(project, account)` a created key.
 */
export function useOperationsStack(accounts: readonly (readonly [project: string, serviceAccount: string])[]): {
  readonly stack: () => GatewayStack<OperationUpstream>;
  readonly key: (project: string, serviceAccount: string) => string;
} {
  let gateway: GatewayStack<OperationUpstream> | undefined;
  const keys = new Map<string, string>();
  beforeAll(async () => {
    gateway = await startGatewayStack({ upstreams: OPERATION_UPSTREAMS, policy: operationsPolicy, runServiceBusTriggers: true });
    for (const [project, account] of accounts) keys.set(`${project}/${account}`, await gateway.createKey(project, account));
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
  });
  beforeEach(() => {
    for (const mock of Object.values(gateway?.mocks ?? {})) mock.clearRequests();
  });
  return {
    stack: () => {
      if (gateway === undefined) throw new Error("the stack is not started yet");
      return gateway;
    },
    key: (project, account) => keys.get(`${project}/${account}`) ?? "",
  };
}
