import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sayDirective, toolDirective } from "../../local/mockOpenAi/toolCalls.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { apiErrorOf, waitForEvent } from "../support/openaiCalls.js";
import { OPERATION_UPSTREAMS, type OperationUpstream, operationsPolicy } from "./operationsPolicyFixture.js";

const CARD = "4111 1111 1111 1111";
let gateway: GatewayStack<OperationUpstream>;
let appKey: string;
let chatOnlyKey: string;
let openKey: string;
let neighbourKey: string;

const platform = (apiKey: string, headers: Record<string, string> = {}): OpenAI => new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000, defaultHeaders: headers });
const azure = (apiKey: string, deployment?: string): AzureOpenAI =>
  new AzureOpenAI({ endpoint: gateway.host.url, apiKey, apiVersion: "2024-10-21", maxRetries: 0, timeout: 15_000, ...(deployment ? { deployment } : {}) });
const lastBody = (name: OperationUpstream): Readonly<Record<string, unknown>> | undefined => gateway.mocks[name].requests().at(-1)?.body;

beforeAll(async () => {
  gateway = await startGatewayStack({ upstreams: OPERATION_UPSTREAMS, policy: operationsPolicy, runServiceBusTriggers: true });
  appKey = await gateway.createKey("acme", "app");
  chatOnlyKey = await gateway.createKey("acme", "chat-only");
  openKey = await gateway.createKey("open", "open-app");
  neighbourKey = await gateway.createKey("neighbour", "neighbour-app");
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
});

beforeEach(() => {
  for (const mock of Object.values(gateway.mocks)) mock.clearRequests();
});

describe("embeddings through the openai SDK", () => {
  it("a string, with the SDK's default base64: decoded vectors, served only by an endpoint that declares embeddings", async () => {
    const { data, response } = await platform(appKey).embeddings.create({ model: "text-embedding-3-small", input: "hello embeddings" }).withResponse();
    expect(data.data[0]?.embedding).toHaveLength(1536);
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-palisade-region")).toBe("westeurope");
    expect(gateway.mocks.embed.requests()).toHaveLength(1);
    expect(gateway.mocks.chat.requests()).toHaveLength(0);
    expect(lastBody("embed")).toMatchObject({ model: "embed-small", encoding_format: "base64", input: "hello embeddings" });
  });

  it("an array of strings with dimensions and float encoding", async () => {
    const result = await platform(appKey).embeddings.create({ model: "text-embedding-3-small", input: ["one", "two", "three"], dimensions: 8, encoding_format: "float" });
    expect(result.data.map((item) => item.embedding.length)).toEqual([8, 8, 8]);
    expect(lastBody("embed")).toMatchObject({ dimensions: 8, encoding_format: "float" });
  });

  it("token arrays: refused where the project does not allow them, passed through where it does", async () => {
    const refused = await apiErrorOf(platform(appKey).embeddings.create({ model: "text-embedding-3-small", input: [[1, 2, 3]], encoding_format: "float" }));
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 422, code: "uninspectable_content" });
    expect(gateway.mocks.embed.requests()).toHaveLength(0);
    const allowed = await platform(openKey).embeddings.create({ model: "text-embedding-3-small", input: [1, 2, 3], encoding_format: "float" });
    expect(allowed.data).toHaveLength(1);
    expect(lastBody("embed")?.input).toEqual([1, 2, 3]);
  });

  it("DLP redacts every input string before it reaches the upstream", async () => {
    const { response } = await platform(appKey).embeddings.create({ model: "text-embedding-3-small", input: ["plain text", `card ${CARD}`], encoding_format: "float" }).withResponse();
    expect(response.headers.get("x-palisade-redactions")).toBe("1");
    const sent = JSON.stringify(lastBody("embed"));
    expect(sent).toContain("[CREDIT_CARD_1]");
    expect(sent).not.toContain(CARD);
  });

  it("DLP blocks where the class says block (public): 422 and nothing sent upstream", async () => {
    const error = await apiErrorOf(platform(appKey, { "x-data-classification": "public" }).embeddings.create({ model: "text-embedding-3-small", input: `card ${CARD}` }));
    expect({ status: error.status, code: error.code }).toEqual({ status: 422, code: "sensitive_data_detected" });
    expect(gateway.mocks.embed.requests()).toHaveLength(0);
  });

  it("audits each call with its operation", async () => {
    const { response } = await platform(appKey).embeddings.create({ model: "text-embedding-3-small", input: "audited", encoding_format: "float" }).withResponse();
    const requestId = response.headers.get("x-request-id");
    const event = await waitForEvent("acme", (candidate) => candidate.requestId === requestId && candidate.type === "api_call" && candidate.status === "success" && candidate.tokens !== undefined);
    expect(event).toMatchObject({ model: "text-embedding-3-small", deployment: "embed-small", endpointId: "eu-embed", details: expect.objectContaining({ operation: "embeddings" }) });
    expect(event?.costUsd).toBeGreaterThan(0);
  }, 30_000);

  it("needs the embeddings.create permission", async () => {
    const error = await apiErrorOf(platform(chatOnlyKey).embeddings.create({ model: "text-embedding-3-small", input: "x" }));
    expect({ status: error.status, code: error.code }).toEqual({ status: 403, code: "missing_permission" });
  });
});

describe("the Responses API through the openai SDK", () => {
  it("plain: output text and usage; store: false sent upstream where the project denies storing", async () => {
    const response = await platform(appKey).responses.create({ model: "gpt-4o-mini", instructions: "be brief", input: "hello" });
    expect(response.output_text).toBe("This is a mock response from eu-chat (westeurope).");
    expect(response.usage?.total_tokens).toBeGreaterThan(0);
    expect(lastBody("chat")).toMatchObject({ model: "gpt-4o-mini", store: false });
    expect(gateway.mocks.chat.requests().at(-1)?.path).toBe("/openai/v1/responses");
  });

  it("streamed: create({ stream: true }) events and the .stream() helper both end completed", async () => {
    const stream = await platform(appKey).responses.create({ model: "gpt-4o-mini", input: "stream please", stream: true });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(text).toBe("This is a mock response from eu-chat (westeurope).");
    const final = await platform(appKey).responses.stream({ model: "gpt-4o-mini", input: "helper" }).finalResponse();
    expect(final.output_text).toBe("This is a mock response from eu-chat (westeurope).");
  });

  it("DLP redacts instructions, every kind of input item and the tools before the upstream sees them", async () => {
    await platform(appKey).responses.create({
      model: "gpt-4o-mini",
      instructions: `instructions ${CARD}`,
      input: [
        { role: "user", content: [{ type: "input_text", text: `message ${CARD}` }] },
        { type: "function_call", call_id: "call_1", name: "lookup", arguments: JSON.stringify({ card: CARD }) },
        { type: "function_call_output", call_id: "call_1", output: `result ${CARD}` },
        { role: "user", content: `string content ${CARD}` },
      ],
      tools: [{ type: "function", name: "lookup", description: `looks up ${CARD}`, parameters: { type: "object", properties: { card: { type: "string", description: `like ${CARD}` } } }, strict: false }],
    });
    const sent = JSON.stringify(lastBody("chat"));
    expect(sent).not.toContain(CARD);
    expect(sent.match(/\[CREDIT_CARD_1\]/g)?.length).toBe(7);
  });

  it("DLP blocks a request whose input carries sensitive data where the class says block", async () => {
    const error = await apiErrorOf(platform(appKey, { "x-data-classification": "public" }).responses.create({ model: "gpt-4o-mini", input: [{ type: "function_call_output", call_id: "c", output: `card ${CARD}` }] }));
    expect({ status: error.status, code: error.code }).toEqual({ status: 422, code: "sensitive_data_detected" });
    expect(gateway.mocks.chat.requests()).toHaveLength(0);
  });

  it("output text and function-call arguments are redacted, plain and streamed", async () => {
    const said = await platform(appKey).responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective(`your card ${CARD}`)}` });
    expect(said.output_text).toBe("your card [CREDIT_CARD_1]");
    const streamed = await platform(appKey).responses.stream({ model: "gpt-4o-mini", input: `go ${sayDirective(`your card ${CARD} ok`)}` }).finalResponse();
    expect(streamed.output_text).toBe("your card [CREDIT_CARD_1] ok");
    expect(JSON.stringify(streamed)).not.toContain(CARD);

    const called = await platform(appKey).responses.create({ model: "gpt-4o-mini", input: `go ${toolDirective("charge", JSON.stringify({ card: CARD }))}` });
    expect(called.output[0]).toMatchObject({ type: "function_call", name: "charge", arguments: '{"card":"[CREDIT_CARD_1]"}' });
    const events = await platform(appKey).responses.create({ model: "gpt-4o-mini", input: `go ${toolDirective("charge", JSON.stringify({ card: CARD }))}`, stream: true });
    let args = "";
    let done = "";
    for await (const event of events) {
      if (event.type === "response.function_call_arguments.delta") args += event.delta;
      if (event.type === "response.function_call_arguments.done") done = event.arguments;
    }
    expect(args).toBe('{"card":"[CREDIT_CARD_1]"}');
    expect(done).toBe(args);
  });

  it("store policy: store: true and previous_response_id refused where storing is denied; allowed where the project allows it, except for pii", async () => {
    const stored = await apiErrorOf(platform(appKey).responses.create({ model: "gpt-4o-mini", input: "x", store: true }));
    expect({ status: stored.status, code: stored.code, param: stored.param }).toEqual({ status: 403, code: "response_storage_not_allowed", param: "store" });
    const previous = await apiErrorOf(platform(appKey).responses.create({ model: "gpt-4o-mini", input: "x", previous_response_id: "resp_123" }));
    expect({ status: previous.status, code: previous.code }).toEqual({ status: 403, code: "response_storage_not_allowed" });
    expect(gateway.mocks.chat.requests()).toHaveLength(0);

    const first = await platform(openKey).responses.create({ model: "gpt-4o-mini", input: "remember this", store: true });
    expect(lastBody("chat")?.store).toBe(true);
    const next = await platform(openKey).responses.create({ model: "gpt-4o-mini", input: "and then", previous_response_id: first.id });
    expect(next.previous_response_id).toBe(first.id);
    const refusal = await waitForEvent("acme", (candidate) => candidate.reason === "response_storage_not_allowed");
    expect(refusal).toMatchObject({ type: "policy_violation", status: "blocked", httpStatus: 403 });
    const pii = await apiErrorOf(platform(openKey, { "x-data-classification": "pii" }).responses.create({ model: "gpt-4o-mini", input: "x", store: true }));
    expect(pii.code).toBe("response_storage_not_allowed");
    await platform(openKey, { "x-data-classification": "pii" }).responses.create({ model: "gpt-4o-mini", input: "x" });
    expect(lastBody("zdr")?.store).toBe(false);
  });
});

describe("stored Responses belong to the project that made them", () => {
  async function createdStreamed(client: OpenAI, input: string): Promise<string> {
    let id = "";
    for await (const event of await client.responses.create({ model: "gpt-4o-mini", input, stream: true })) if (event.type === "response.completed") id = event.response.id;
    return id;
  }

  it("another project that also allows storing cannot continue one (404, as if it did not exist); the maker can, plain and streamed", async () => {
    const plain = await platform(openKey).responses.create({ model: "gpt-4o-mini", input: "remember this" });
    const streamed = await createdStreamed(platform(openKey), "remember that");
    for (const id of [plain.id, streamed]) {
      expect(id).toMatch(/^resp_/);
      gateway.mocks.chat.clearRequests();
      const stolen = await apiErrorOf(platform(neighbourKey).responses.create({ model: "gpt-4o-mini", input: "what did they say?", previous_response_id: id }));
      expect({ status: stolen.status, type: stolen.type, code: stolen.code, param: stolen.param }).toEqual({ status: 404, type: "not_found_error", code: "response_not_found", param: "previous_response_id" });
      expect(stolen.message).not.toContain(id);
      expect(gateway.mocks.chat.requests()).toHaveLength(0);
      const next = await platform(openKey).responses.create({ model: "gpt-4o-mini", input: "and then", previous_response_id: id });
      expect(next.previous_response_id).toBe(id);
    }
    // The attempt is in the neighbour's trail as a policy violation.
    const refusal = await waitForEvent("neighbour", (candidate) => candidate.reason === "response_not_found");
    expect(refusal).toMatchObject({ type: "policy_violation", status: "blocked", httpStatus: 404 });
  });

  it("an id Palisade has no record of, and a conversation, are refused the same way", async () => {
    const unknown = await apiErrorOf(platform(openKey).responses.create({ model: "gpt-4o-mini", input: "x", previous_response_id: "resp_made_elsewhere" }));
    expect({ status: unknown.status, code: unknown.code, param: unknown.param }).toEqual({ status: 404, code: "response_not_found", param: "previous_response_id" });
    const conversation = await apiErrorOf(platform(openKey).responses.create({ model: "gpt-4o-mini", input: "x", conversation: "conv_123" }));
    expect({ status: conversation.status, code: conversation.code, param: conversation.param }).toEqual({ status: 404, code: "response_not_found", param: "conversation" });
    expect(gateway.mocks.chat.requests()).toHaveLength(0);
  });
});

describe("Azure OpenAI clients with only the endpoint and key changed", () => {
  it("chat on the deployment route, the deployment named by the model's name or by its deployment", async () => {
    const byName = await azure(appKey, "gpt-4o-mini").chat.completions.create({ model: "", messages: [{ role: "user", content: "hi" }] });
    expect(byName.choices[0]?.message.content).toBe("This is a mock completion from eu-chat (westeurope).");
    const embeddingsByDeployment = await azure(appKey, "embed-small").embeddings.create({ model: "", input: "x", encoding_format: "float" });
    expect(embeddingsByDeployment.data).toHaveLength(1);
    const embeddingsByName = await azure(appKey, "text-embedding-3-small").embeddings.create({ model: "", input: "x" });
    expect(embeddingsByName.data[0]?.embedding).toHaveLength(1536);
  });

  it("an unknown deployment: 403 model_not_allowed", async () => {
    const error = await apiErrorOf(azure(appKey, "gpt-5-secret").chat.completions.create({ model: "", messages: [{ role: "user", content: "hi" }] }));
    expect({ status: error.status, code: error.code }).toEqual({ status: 403, code: "model_not_allowed" });
  });

  it("the Responses API as AzureOpenAI calls it, and Azure's v1 API with the plain OpenAI client", async () => {
    const dated = await azure(appKey).responses.create({ model: "gpt-4o-mini", input: "dated" });
    expect(dated.output_text).toBe("This is a mock response from eu-chat (westeurope).");
    const v1 = new OpenAI({ baseURL: `${gateway.host.url}/openai/v1`, apiKey: appKey, maxRetries: 0 });
    expect((await v1.responses.create({ model: "gpt-4o-mini", input: "v1" })).output_text).toBe("This is a mock response from eu-chat (westeurope).");
    expect((await v1.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "v1" }] })).choices).toHaveLength(1);
    expect((await v1.embeddings.create({ model: "text-embedding-3-small", input: "v1" })).data).toHaveLength(1);
  });
});

describe("models.retrieve and the endpoints Palisade does not govern", () => {
  it("retrieves an allowed model; a model the project lacks is a 404", async () => {
    expect((await platform(appKey).models.retrieve("text-embedding-3-small")).id).toBe("text-embedding-3-small");
    const error = await apiErrorOf(platform(appKey).models.retrieve("gpt-5"));
    expect(error.status).toBe(404);
  });

  it("files, batches and Azure images are refused as not governed, and the refusal is audited on the caller's chain", async () => {
    const files = await apiErrorOf(platform(appKey).files.list());
    expect({ status: files.status, code: files.code }).toEqual({ status: 403, code: "endpoint_not_governed" });
    expect(files.message).toMatch(/does not govern/);
    // It names what IS governed, so the caller knows where the Responses calls it may need are.
    expect(files.message).toContain("/v1/responses/compact, /v1/responses/input_tokens, the calls on a stored Response");
    const batch = await apiErrorOf(platform(appKey).batches.create({ completion_window: "24h", endpoint: "/v1/chat/completions", input_file_id: "file-1" }));
    expect(batch.code).toBe("endpoint_not_governed");
    const images = await apiErrorOf(azure(appKey, "gpt-4o-mini").images.generate({ prompt: "a cat", model: "dall-e-3" }));
    expect(images.code).toBe("endpoint_not_governed");
    const event = await waitForEvent("acme", (candidate) => candidate.reason === "endpoint_not_governed" && candidate.details?.endpoint === "batches");
    expect(event).toMatchObject({ type: "policy_violation", status: "blocked", httpStatus: 403, actor: { kind: "service-account", id: "app" } });
  }, 30_000);
});
