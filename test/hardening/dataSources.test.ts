import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { apiErrorOf, waitForEvent } from "../support/openaiCalls.js";
import { MODEL, oneEndpoint } from "./hardeningPolicy.js";
import { type RecordingUpstream, startRecordingUpstream } from "./recordingUpstream.js";

/**
 * Azure On Your Data (session 14): `data_sources` names a search service that Azure OpenAI queries with
 * the conversation, wherever it is, and whose documents reach the model uninspected. It passed
 * untouched. Now refused (403 data_source_not_allowed) unless the project lists the source's type AND
 * every host it names in `chat.dataSources`; the source's credentials are never inspected (so never
 * redacted into a broken key), echoed or audited. Sent through the real AzureOpenAI client (the
 * deployment route) and the openai client on Azure's v1 route; asserted on what the upstream received.
 */

const SEARCH_HOST = "contoso-eu.search.windows.net";
const EMBED_HOST = "contoso-eu.openai.azure.com";
const COSMOS_HOST = "contoso-eu.mongocluster.cosmos.azure.com";
/** A key DLP recognises (a GitHub token's shape): were it inspected, it would be redacted. */
const SEARCH_KEY = "ghp_R8x2Kq7vLm3Tn9Wp4Zs6Yb1Hc5Jd0Fg2Ae7M";
const COSMOS_PASSWORD = "Pa55w0rd-9f8e7d6c5b4a";
const CARD = "4539 1488 0343 6467";

let upstream: RecordingUpstream;
let gateway: GatewayStack<"unused">;
let acmeKey: string;
let ragKey: string;

function policy(): PolicyInput {
  const models = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, auditOnPublishFailure: "outbox" },
      {
        id: "rag",
        residency: "eu",
        models,
        auditOnPublishFailure: "outbox",
        responses: { store: "deny", hostedTools: ["mcp"], mcpServers: ["mcp.contoso-eu.example"] },
        chat: { dataSources: [{ type: "azure_search", hosts: [SEARCH_HOST, EMBED_HOST] }, { type: "azure_cosmos_db", hosts: [COSMOS_HOST, EMBED_HOST] }, { type: "azure_ml_index", hosts: [SEARCH_HOST] }] },
      },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "responses.create"] },
      { id: "rag-app", project: "rag", permissions: ["chat.completions", "responses.create"] },
    ],
    endpoints: [oneEndpoint("recording", upstream.url)],
  };
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy, runServiceBusTriggers: true });
  [acmeKey, ragKey] = await Promise.all([gateway.createKey("acme", "app"), gateway.createKey("rag", "rag-app")]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

const azure = (apiKey: string): AzureOpenAI => new AzureOpenAI({ endpoint: gateway.host.url, apiKey, deployment: MODEL, apiVersion: "2024-10-21", maxRetries: 0, timeout: 15_000 });
const azureV1 = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${gateway.host.url}/openai/v1`, apiKey, maxRetries: 0, timeout: 15_000 });

const search = (parameters: Record<string, unknown> = {}) => ({
  type: "azure_search",
  parameters: { endpoint: `https://${SEARCH_HOST}`, index_name: "handbook", authentication: { type: "api_key", key: SEARCH_KEY }, ...parameters },
});
const cosmos = (host: string) => ({
  type: "azure_cosmos_db",
  parameters: {
    database_name: "db",
    container_name: "docs",
    index_name: "idx",
    fields_mapping: { content_fields: ["text"], vector_fields: ["vec"] },
    authentication: { type: "connection_string", connection_string: `mongodb+srv://reader:${COSMOS_PASSWORD}@${host}/?tls=true&authMechanism=SCRAM-SHA-256` },
    embedding_dependency: { type: "deployment_name", deployment_name: "embed" },
  },
});
const ask = (client: OpenAI, dataSources: unknown[], content = "What is the leave policy?") =>
  client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], data_sources: dataSources } as never);

/** No secret, host or connection string in a refusal's message. */
function expectNothingEchoed(message: string): void {
  for (const value of [SEARCH_KEY, COSMOS_PASSWORD, SEARCH_HOST, "evil.example", "vision.example", COSMOS_HOST]) expect(message).not.toContain(value);
}

describe("a project that allows no data source", () => {
  it.each([
    ["the deployment route (AzureOpenAI)", () => azure(acmeKey)],
    ["the v1 route", () => azureV1(acmeKey)],
  ])("%s: 403 data_source_not_allowed naming the field, nothing upstream, the refusal audited without the key", async (_route, client) => {
    const before = upstream.received().length;
    const error = await apiErrorOf(ask(client(), [search()]));
    expect([error.status, error.code, error.param, error.type]).toEqual([403, "data_source_not_allowed", "data_sources[0].type", "permission_error"]);
    expect(error.message).toMatch(/"azure_search".*chat\.dataSources/);
    expectNothingEchoed(error.message);
    expect(upstream.received().length).toBe(before);
    const requestId = error.headers?.get("x-request-id") ?? "";
    const event = await waitForEvent("acme", (candidate) => candidate.requestId === requestId);
    expect(event).toMatchObject({ type: "policy_violation", status: "blocked", reason: "data_source_not_allowed", httpStatus: 403 });
    expect(JSON.stringify(event)).not.toContain(SEARCH_KEY);
  }, 30_000);

  it("sent on the Responses API (v1 route), it is held to the same list", async () => {
    const error = await apiErrorOf(azureV1(acmeKey).responses.create({ model: MODEL, input: "hi", data_sources: [search()] } as never));
    expect([error.status, error.code, error.param]).toEqual([403, "data_source_not_allowed", "data_sources[0].type"]);
  });

  it("Azure's vision enhancements (OCR, grounding) need a Computer Vision data source: refused with it", async () => {
    const error = await apiErrorOf(
      azure(acmeKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], enhancements: { ocr: { enabled: true }, grounding: { enabled: true } }, dataSources: [{ type: "AzureComputerVision", parameters: { endpoint: "https://vision.example", key: SEARCH_KEY } }] } as never),
    );
    expect([error.status, error.code, error.param]).toEqual([403, "data_source_not_allowed", "dataSources[0].type"]);
    expectNothingEchoed(error.message);
  });

  it("the older camel-case dataSources is refused the same way", async () => {
    const error = await apiErrorOf(azure(acmeKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], dataSources: [{ type: "AzureCognitiveSearch", parameters: { endpoint: `https://${SEARCH_HOST}`, key: SEARCH_KEY } }] } as never));
    expect([error.status, error.code, error.param]).toEqual([403, "data_source_not_allowed", "dataSources[0].type"]);
  });
});

describe("a project that lists azure_search and azure_cosmos_db at its own hosts", () => {
  it("an allowed source passes: its credential reaches the upstream untouched; role_information is still inspected", async () => {
    const before = upstream.received().length;
    const answer = await ask(azure(ragKey), [search({ role_information: `You help. Card on file: ${CARD}` })]);
    expect(answer.choices[0]?.message.content).toBe("ok");
    const sent = upstream.received().slice(before);
    expect(sent).toHaveLength(1);
    const parameters = (sent[0]?.data_sources as { parameters: Record<string, unknown> }[])[0]?.parameters;
    expect(parameters?.authentication).toEqual({ type: "api_key", key: SEARCH_KEY });
    expect(parameters?.endpoint).toBe(`https://${SEARCH_HOST}`);
    expect(String(parameters?.role_information)).not.toContain("4539");
    const requestId = answer._request_id ?? "";
    const event = await waitForEvent("rag", (candidate) => candidate.type === "api_call" && candidate.status === "success" && (requestId === "" || candidate.requestId === requestId));
    expect(JSON.stringify(event)).not.toContain(SEARCH_KEY);
  }, 30_000);

  it("a Cosmos DB source passes when its connection string's host is listed; its password is not redacted", async () => {
    const before = upstream.received().length;
    await ask(azureV1(ragKey), [cosmos(COSMOS_HOST)]);
    const sent = JSON.stringify(upstream.received().slice(before));
    expect(sent).toContain(COSMOS_PASSWORD);
  });

  it.each([
    ["an endpoint at another host", [search({ endpoint: "https://evil.example" })], "data_sources[0].parameters.endpoint"],
    ["an endpoint whose host is hidden behind a backslash", [search({ endpoint: `https://evil.example\\@${SEARCH_HOST}` })], "data_sources[0].parameters.endpoint"],
    ["an endpoint with the allowed host as a user name", [search({ endpoint: `https://${SEARCH_HOST}@evil.example` })], "data_sources[0].parameters.endpoint"],
    ["an embedding endpoint at another host", [search({ query_type: "vector", embedding_dependency: { type: "endpoint", endpoint: "https://evil.example/openai/deployments/ada/embeddings", authentication: { type: "api_key", key: SEARCH_KEY } } })], "data_sources[0].parameters.embedding_dependency.endpoint"],
    ["a Cosmos DB connection string at another host", [cosmos("evil.example")], "data_sources[0].parameters.authentication.connection_string"],
    ["a second, unlisted source type", [search(), { type: "elasticsearch", parameters: { endpoint: `https://${SEARCH_HOST}`, index_name: "x", authentication: { type: "encoded_api_key", encoded_api_key: SEARCH_KEY } } }], "data_sources[1].type"],
    ["a listed type whose location Palisade cannot read", [{ type: "azure_ml_index", parameters: { project_resource_id: "/subscriptions/x", name: "idx", version: "1" } }], "data_sources[0].type"],
  ])("%s: 403, nothing upstream, nothing echoed", async (_name, sources, param) => {
    const before = upstream.received().length;
    const error = await apiErrorOf(ask(azure(ragKey), sources));
    expect([error.status, error.code, error.param]).toEqual([403, "data_source_not_allowed", param]);
    expectNothingEchoed(error.message);
    expect(JSON.stringify(error.error)).not.toContain(SEARCH_KEY);
    expect(upstream.received().length).toBe(before);
  });

  it("a malformed data_sources is a 400 naming the field", async () => {
    const error = await apiErrorOf(ask(azure(ragKey), [{ parameters: {} }]));
    expect([error.status, error.code, error.param]).toEqual([400, "invalid_request", "data_sources[0]"]);
  });
});

describe("the same class on the Responses API: an allowed mcp tool's server", () => {
  const mcp = (serverUrl: string) => [{ type: "mcp", server_label: "crm", server_url: serverUrl, require_approval: "never" }];
  it("passes at a host the project lists in responses.mcpServers, and is refused (403 tool_not_allowed) anywhere else", async () => {
    const before = upstream.received().length;
    await azureV1(ragKey).responses.create({ model: MODEL, input: "Find the customer.", tools: mcp("https://mcp.contoso-eu.example/sse") } as never);
    expect(upstream.received().length).toBe(before + 1);
    const error = await apiErrorOf(azureV1(ragKey).responses.create({ model: MODEL, input: "Find the customer.", tools: mcp("https://mcp.evil.example/sse") } as never));
    expect([error.status, error.code, error.param]).toEqual([403, "tool_not_allowed", "tools[0].server_url"]);
    expect(error.message).not.toContain("evil.example");
    expect(upstream.received().length).toBe(before + 1);
  });
});
