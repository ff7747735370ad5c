import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";

let mock: RunningMockOpenAi;

beforeAll(async () => {
  mock = await startMockOpenAi({ name: "paths", region: "westeurope" });
});

afterAll(async () => {
  await mock?.stop();
});

beforeEach(() => mock.clearRequests());

const azure = (auth: EndpointPolicy["auth"] = { kind: "none" }): EndpointPolicy => ({
  id: "azure-eu",
  provider: "azure",
  baseUrl: `${mock.url}/`,
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["embed-deployment"],
  priority: 1,
  apiVersion: "2024-10-21",
  auth,
  timeoutInMs: 5_000,
});
const options = { deployment: "embed-deployment", timeoutInMs: 5_000, requestId: "req-paths-1" };

describe("OpenAiCompletionProvider on Azure: the paths each operation takes", () => {
  it("embeddings go to the deployment route with the endpoint's api-version, the model mapped to the deployment", async () => {
    await new OpenAiCompletionProvider({ credential: null, readApiKey: null }).createEmbeddings(azure(), { model: "caller-name", input: "x" }, options);
    const request = mock.requests().at(-1);
    expect(request?.path).toBe("/openai/deployments/embed-deployment/embeddings");
    expect(request?.body).toMatchObject({ model: "embed-deployment", encoding_format: "float" });
    expect(request?.headers["x-ms-client-request-id"]).toBe("req-paths-1");
  });

  it("responses go to Azure's v1 path with the key as api-key and no bearer header", async () => {
    const provider = new OpenAiCompletionProvider({ credential: null, readApiKey: async () => "upstream-secret" });
    await provider.createResponse(azure({ kind: "key-vault-secret", secretName: "aoai-key" }), { model: "caller-name", input: "x" }, options);
    const request = mock.requests().at(-1);
    expect(request?.path).toBe("/openai/v1/responses");
    expect(request?.body.model).toBe("embed-deployment");
    expect(request?.headers["api-key"]).toBe("upstream-secret");
    expect(request?.headers.authorization).toBeUndefined();
  });
});
