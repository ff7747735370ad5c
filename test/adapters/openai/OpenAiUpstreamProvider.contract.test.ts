import { afterAll, beforeAll } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { sayDirective } from "../../../local/mockOpenAi/toolCalls.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { describeUpstreamProviderContract } from "../../contracts/upstreamProvider.contract.js";

let mock: RunningMockOpenAi;

beforeAll(async () => {
  mock = await startMockOpenAi({ name: "contract", region: "westeurope" });
});

afterAll(async () => {
  await mock?.stop();
});

const endpointFor = (provider: "azure" | "openai"): EndpointPolicy => ({
  id: `contract-${provider}`,
  provider,
  baseUrl: provider === "azure" ? mock.url : `${mock.url}/v1`,
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["contract-deployment"],
  priority: 1,
  apiVersion: "2024-10-21",
  auth: { kind: "none" },
  timeoutInMs: 5_000,
});

for (const kind of ["azure", "openai"] as const) {
  describeUpstreamProviderContract(`OpenAiCompletionProvider (${kind}) on the mock upstream`, async () => {
    mock.setFault(null);
    return {
      provider: new OpenAiCompletionProvider({ credential: null, readApiKey: null }),
      endpoint: endpointFor(kind),
      promptSaying: (text) => `answer exactly ${sayDirective(text)}`,
      failNextWithRateLimit: (seconds) => mock.setFault({ status: 429, retryAfterSeconds: seconds, times: 1 }),
      failNextWithServerError: (status) => mock.setFault({ status, times: 1 }),
    };
  });
}
