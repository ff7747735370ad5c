import { type AccessToken, type TokenCredential } from "@azure/identity";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";

/**
 * Issue 18 item 6: the upstream client takes nothing from the process environment. Every variable
 * the openai SDK reads is set (as a user's shell or an Azure app setting would), pointing somewhere
 * else; requests must still go where the policy says, with the policy's credentials and nothing more.
 */
const AMBIENT: Readonly<Record<string, string>> = {
  OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
  OPENAI_API_KEY: "sk-ambient-should-not-be-used",
  OPENAI_ADMIN_KEY: "sk-admin-ambient",
  OPENAI_ORG_ID: "org-ambient",
  OPENAI_PROJECT_ID: "proj_ambient",
  OPENAI_WEBHOOK_SECRET: "whsec_ambient",
  OPENAI_LOG: "debug",
  OPENAI_CUSTOM_HEADERS: "x-ambient-header: leaked",
  AZURE_OPENAI_ENDPOINT: "http://127.0.0.1:9",
  AZURE_OPENAI_API_KEY: "azure-ambient-key",
  OPENAI_API_VERSION: "1999-01-01",
};

const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: "mi-token", expiresOnTimestamp: Date.now() + 3_600_000 }) };

describe("OpenAiCompletionProvider: nothing from the ambient environment", () => {
  let mock: RunningMockOpenAi;
  const saved = new Map<string, string | undefined>();
  beforeAll(async () => {
    mock = await startMockOpenAi({ name: "policy-upstream" });
  });
  afterAll(async () => mock.stop());
  beforeEach(() => {
    for (const [name, value] of Object.entries(AMBIENT)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    mock.clearRequests();
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const endpoint = (overrides: Partial<EndpointPolicy>): EndpointPolicy => ({
    id: "policy-eu",
    provider: "azure",
    baseUrl: mock.url,
    region: "westeurope",
    residency: "eu",
    class: "standard",
    deployments: ["mini"],
    priority: 1,
    apiVersion: "2024-10-21",
    auth: { kind: "none" },
    timeoutInMs: 5_000,
    ...overrides,
  });
  const body = { messages: [{ role: "user", content: "hello" }], max_tokens: 5 };
  const call = { deployment: "mini", timeoutInMs: 5_000, requestId: "req-env-1" };

  const expectNothingAmbient = (headers: Readonly<Record<string, string>>): void => {
    expect(headers["openai-organization"]).toBeUndefined();
    expect(headers["openai-project"]).toBeUndefined();
    expect(headers["x-ambient-header"]).toBeUndefined();
    expect(JSON.stringify(headers)).not.toMatch(/ambient/);
  };

  it.each([
    ["a key from Key Vault", { auth: { kind: "key-vault-secret" as const, secretName: "upstream-key" } }, { "api-key": "policy-key" }],
    ["a managed identity", { auth: { kind: "managed-identity" as const } }, { authorization: "Bearer mi-token" }],
    ["no auth (local)", { auth: { kind: "none" as const } }, {}],
  ])("Azure OpenAI with %s: the policy's endpoint, API version and credential", async (_label, overrides, expected) => {
    const provider = new OpenAiCompletionProvider({ credential, readApiKey: async () => "policy-key" });
    const completion = await provider.complete(endpoint(overrides), body, call);
    expect(completion.usage).not.toBeNull();
    const received = mock.requests().at(-1);
    expect(received?.path).toBe("/openai/deployments/mini/chat/completions");
    expect(received?.headers).toMatchObject(expected);
    expectNothingAmbient(received?.headers ?? {});
  });

  it("the OpenAI platform: the policy's base URL and key, plain and streamed", async () => {
    const provider = new OpenAiCompletionProvider({ credential: null, readApiKey: async () => "policy-key" });
    const platform = endpoint({ provider: "openai", baseUrl: `${mock.url}/v1`, auth: { kind: "key-vault-secret", secretName: "platform-key" } });
    await provider.complete(platform, body, call);
    for await (const _chunk of await provider.stream(platform, body, call)) {
      // drained
    }
    expect(mock.requests().map((request) => request.path)).toEqual(["/v1/chat/completions", "/v1/chat/completions"]);
    for (const request of mock.requests()) {
      expect(request.headers.authorization).toBe("Bearer policy-key");
      expectNothingAmbient(request.headers);
    }
  });
});
