import OpenAI, { AuthenticationError, AzureOpenAI, NotFoundError, PermissionDeniedError, RateLimitError, UnprocessableEntityError } from "openai";
import { DEFAULT_EMBEDDING_DIMENSIONS, deterministicVector } from "../../local/mockOpenAi/embeddings.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CARD_NUMBER,
  CHARGE_PROMPT,
  CHARGE_TOOL,
  CHAT_MODEL,
  EMBEDDINGS_MODEL,
  type CompatStack,
  MOCK_REPLY,
  MOCK_RESPONSE,
  REDACTED_CARD,
  WEATHER_ARGUMENTS,
  WEATHER_PARAMETERS,
  WEATHER_PROMPT,
  WEATHER_TOOL,
  mockUsage,
  rejectionOf,
  startCompatStack,
} from "./compatStack.js";

let palisade: CompatStack;

const weatherTool: OpenAI.ChatCompletionFunctionTool = { type: "function", function: { name: WEATHER_TOOL, description: "Current weather in a city", parameters: WEATHER_PARAMETERS, strict: true } };

/** Configured as the README says: the base URL and the key, nothing else. */
const openai = (apiKey: string): OpenAI => new OpenAI({ baseURL: palisade.baseUrl, apiKey });
/** Azure OpenAI's client with only the endpoint changed: `api-key` header, deployment in the path, api-version in the query. */
const API_VERSION = "2024-10-21";
const azure = (apiKey: string, deployment = CHAT_MODEL): AzureOpenAI => new AzureOpenAI({ endpoint: palisade.endpoint, apiKey, deployment, apiVersion: API_VERSION });
/** Azure's v1 API (no api-version) as Microsoft documents it for the plain OpenAI client. */
const azureV1 = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${palisade.endpoint}/openai/v1`, apiKey });

/** The vector the mock upstream gives a text, as float32 (how it travels as base64). */
const expectedVector = (text: string, dimensions = DEFAULT_EMBEDDING_DIMENSIONS): number[] => Array.from(deterministicVector(text, dimensions));

beforeAll(async () => {
  palisade = await startCompatStack();
}, 60_000);

afterAll(async () => {
  await palisade?.stop();
});

describe("openai: OpenAI with the base URL and a Palisade key", () => {
  it("chat: the upstream's answer and usage, and the request id", async () => {
    const prompt = "Summarise our refund policy.";
    const { data, request_id } = await openai(palisade.keys.app).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: prompt }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(MOCK_REPLY);
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject(mockUsage(prompt, MOCK_REPLY));
    expect(request_id).toMatch(/.{8,}/);
  });

  it("stream: the deltas add up to the answer, and the last chunk carries the usage", async () => {
    const prompt = "Stream our refund policy.";
    const stream = await openai(palisade.keys.app).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: prompt }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(MOCK_REPLY);
    expect(usage).toMatchObject(mockUsage(prompt, MOCK_REPLY));
  });

  it("stream helper: chat.completions.stream() assembles the final completion", async () => {
    const runner = openai(palisade.keys.app).chat.completions.stream({ model: CHAT_MODEL, messages: [{ role: "user", content: "hello" }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(MOCK_REPLY);
  });

  it("structured output: response_format json_schema passes through and parse() reads the answer", async () => {
    const answer = JSON.stringify({ city: "Paris", note: "[[mock:echo]]" });
    const completion = await openai(palisade.keys.app).chat.completions.parse({
      model: CHAT_MODEL,
      messages: [{ role: "user", content: answer }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "place", strict: true, schema: { type: "object", properties: { city: { type: "string" }, note: { type: "string" } }, required: ["city", "note"], additionalProperties: false } },
      },
    });
    expect(completion.choices[0]?.message.parsed).toEqual({ city: "Paris", note: "[[mock:echo]]" });
    const forwarded = palisade.gateway.mocks.upstream.requests().at(-1)?.body;
    expect(forwarded?.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "place", strict: true } });
  });

  it("tools: the tool call's name and arguments, finish_reason tool_calls, and the tools forwarded", async () => {
    const completion = await openai(palisade.keys.app).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: WEATHER_PROMPT }], tools: [weatherTool] });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" ? [call.function.name, JSON.parse(call.function.arguments)] : null).toEqual([WEATHER_TOOL, WEATHER_ARGUMENTS]);
    expect(call?.id).toMatch(/^call_/);
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.tools).toEqual([weatherTool]);
  });

  it("tools streamed: the argument fragments assemble into the same call (stream helper)", async () => {
    const runner = openai(palisade.keys.app).chat.completions.stream({ model: CHAT_MODEL, messages: [{ role: "user", content: WEATHER_PROMPT }], tools: [weatherTool] });
    const fragments: string[] = [];
    runner.on("tool_calls.function.arguments.delta", (event) => void fragments.push(event.arguments_delta));
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(fragments.length).toBeGreaterThan(1);
    expect(call?.type === "function" ? [call.function.name, JSON.parse(call.function.arguments)] : null).toEqual([WEATHER_TOOL, WEATHER_ARGUMENTS]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("a card number in the model's tool-call arguments arrives redacted, plain and streamed, and still parses", async () => {
    const chargeTool: OpenAI.ChatCompletionFunctionTool = { type: "function", function: { name: CHARGE_TOOL, parameters: { type: "object", properties: { card: { type: "string" }, amount: { type: "number" } } } } };
    const request = { model: CHAT_MODEL, messages: [{ role: "user" as const, content: CHARGE_PROMPT }], tools: [chargeTool] };
    const plain = await openai(palisade.keys.app).chat.completions.create(request);
    const streamed = await openai(palisade.keys.app).chat.completions.stream(request).finalChatCompletion();
    for (const completion of [plain, streamed]) {
      const call = completion.choices[0]?.message.tool_calls?.[0];
      const args = call?.type === "function" ? (JSON.parse(call.function.arguments) as { card: string; amount: number }) : null;
      expect(args?.card).toMatch(REDACTED_CARD);
      expect(args?.amount).toBe(20);
      expect(JSON.stringify(completion)).not.toContain(CARD_NUMBER);
    }
  });

  it("models: list names the models the key may use", async () => {
    const models = await openai(palisade.keys.app).models.list();
    expect(models.data.map((model) => model.id)).toEqual([CHAT_MODEL, EMBEDDINGS_MODEL]);
  });
});

describe("openai: the error classes the SDK raises for Palisade's refusals", () => {
  const ask = (apiKey: string, content = "hello") => openai(apiKey).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content }] });

  it("401 → AuthenticationError with code invalid_api_key", async () => {
    const error = await rejectionOf(ask(palisade.keys.unknown));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", type: "authentication_error" });
  });

  it("403 → PermissionDeniedError with code missing_permission, and model_not_allowed for a model outside the allowlist", async () => {
    const error = await rejectionOf(ask(palisade.keys.lister));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "missing_permission" });
    const model = await rejectionOf(openai(palisade.keys.app).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }));
    expect(model).toBeInstanceOf(PermissionDeniedError);
    expect(model).toMatchObject({ status: 403, code: "model_not_allowed" });
  });

  it("422 → UnprocessableEntityError with code sensitive_data_detected, never echoing the value", async () => {
    const error = await rejectionOf(ask(palisade.keys.strict, `Charge card ${CARD_NUMBER}`));
    expect(error).toBeInstanceOf(UnprocessableEntityError);
    expect(error).toMatchObject({ status: 422, code: "sensitive_data_detected" });
    expect((error as Error).message).not.toContain(CARD_NUMBER);
  });

  it("429 → RateLimitError with code rate_limit_exceeded and retry-after, without the SDK retrying", async () => {
    const before = palisade.gateway.mocks.upstream.requests().length;
    const error = await rejectionOf(ask(palisade.keys.tiny));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    expect((error as RateLimitError).headers?.get("retry-after")).toMatch(/^\d+$/);
    expect(palisade.gateway.mocks.upstream.requests().length).toBe(before);
  });
});

describe("openai: embeddings and the Responses API on /v1", () => {
  it("embeddings: one vector per input, in order, the upstream's values (base64 on the wire, the SDK's default), and usage", async () => {
    const result = await openai(palisade.keys.app).embeddings.create({ model: EMBEDDINGS_MODEL, input: ["refund policy", "shipping times"] });
    expect(result.data.map((item) => item.index)).toEqual([0, 1]);
    expect(result.data[0]?.embedding).toEqual(expectedVector("refund policy"));
    expect(result.data[1]?.embedding).toEqual(expectedVector("shipping times"));
    expect(result.usage.prompt_tokens).toBe(Math.ceil("refund policy".length / 4) + Math.ceil("shipping times".length / 4));
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.encoding_format).toBe("base64");
  });

  it("embeddings: dimensions and encoding_format float pass through", async () => {
    const result = await openai(palisade.keys.app).embeddings.create({ model: EMBEDDINGS_MODEL, input: "refund policy", dimensions: 256, encoding_format: "float" });
    expect(result.data[0]?.embedding).toHaveLength(256);
    expect(result.data[0]?.embedding[0]).toBeCloseTo(expectedVector("refund policy", 256)[0] ?? Number.NaN, 6);
  });

  it("responses: output_text and usage", async () => {
    const prompt = "Summarise our refund policy.";
    const response = await openai(palisade.keys.app).responses.create({ model: CHAT_MODEL, input: prompt });
    expect(response.output_text).toBe(MOCK_RESPONSE);
    expect(response.usage).toMatchObject({ input_tokens: Math.ceil(prompt.length / 4), output_tokens: Math.ceil(MOCK_RESPONSE.length / 4) });
  });

  it("responses streamed: typed events from response.created to response.completed with usage", async () => {
    const stream = await openai(palisade.keys.app).responses.create({ model: CHAT_MODEL, input: "Stream our refund policy.", stream: true });
    const types: string[] = [];
    let text = "";
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(text).toBe(MOCK_RESPONSE);
    expect(completed?.usage?.output_tokens).toBe(Math.ceil(MOCK_RESPONSE.length / 4));
  });

  it("responses with tools: a function_call item with the name and arguments", async () => {
    const response = await openai(palisade.keys.app).responses.create({
      model: CHAT_MODEL,
      input: WEATHER_PROMPT,
      tools: [{ type: "function", name: WEATHER_TOOL, description: "Current weather in a city", parameters: WEATHER_PARAMETERS, strict: true }],
    });
    const call = response.output.find((item) => item.type === "function_call");
    expect(call?.type === "function_call" ? [call.name, JSON.parse(call.arguments)] : null).toEqual([WEATHER_TOOL, WEATHER_ARGUMENTS]);
  });

  it("responses streamed with tools: argument deltas (held back for inspection, so maybe one) and the stream helper's assembled call", async () => {
    const runner = openai(palisade.keys.app).responses.stream({
      model: CHAT_MODEL,
      input: WEATHER_PROMPT,
      tools: [{ type: "function", name: WEATHER_TOOL, description: "Current weather in a city", parameters: WEATHER_PARAMETERS, strict: true }],
    });
    let deltas = 0;
    runner.on("response.function_call_arguments.delta", () => void (deltas += 1));
    const final = await runner.finalResponse();
    const call = final.output.find((item) => item.type === "function_call");
    expect(deltas).toBeGreaterThanOrEqual(1);
    expect(call?.type === "function_call" ? [call.name, JSON.parse(call.arguments)] : null).toEqual([WEATHER_TOOL, WEATHER_ARGUMENTS]);
  });
});

describe("openai: AzureOpenAI with endpoint, deployment, apiVersion and a Palisade key", () => {
  it("chat: the answer and usage, the deployment mapped to the model", async () => {
    const prompt = "Summarise our refund policy.";
    const completion = await azure(palisade.keys.app).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: prompt }] });
    expect(completion.choices[0]?.message.content).toBe(MOCK_REPLY);
    expect(completion.usage).toMatchObject(mockUsage(prompt, MOCK_REPLY));
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.deployment).toBe(CHAT_MODEL);
  });

  it("stream: deltas and usage", async () => {
    const stream = await azure(palisade.keys.app).chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: "hello" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(MOCK_REPLY);
    expect(usage).toMatchObject(mockUsage("hello", MOCK_REPLY));
  });

  it("tools: plain and streamed", async () => {
    const client = azure(palisade.keys.app);
    const plain = await client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: WEATHER_PROMPT }], tools: [weatherTool] });
    const streamed = await client.chat.completions.stream({ model: CHAT_MODEL, messages: [{ role: "user", content: WEATHER_PROMPT }], tools: [weatherTool] }).finalChatCompletion();
    for (const completion of [plain, streamed]) {
      const call = completion.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === "function" ? [call.function.name, JSON.parse(call.function.arguments)] : null).toEqual([WEATHER_TOOL, WEATHER_ARGUMENTS]);
    }
  });

  it("embeddings: an embeddings deployment, the upstream's vectors", async () => {
    const result = await azure(palisade.keys.app, EMBEDDINGS_MODEL).embeddings.create({ model: EMBEDDINGS_MODEL, input: ["refund policy"] });
    expect(result.data[0]?.embedding).toEqual(expectedVector("refund policy"));
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.deployment).toBe(EMBEDDINGS_MODEL);
  });

  it("responses (Azure's dated route, /openai/responses?api-version=)", async () => {
    const response = await azure(palisade.keys.app).responses.create({ model: CHAT_MODEL, input: "hello" });
    expect(response.output_text).toBe(MOCK_RESPONSE);
  });

  it("errors: the same classes and codes; an unknown deployment is 403 model_not_allowed", async () => {
    const ask = (client: AzureOpenAI, content = "hello") => client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content }] });
    expect(await rejectionOf(ask(azure(palisade.keys.unknown)))).toBeInstanceOf(AuthenticationError);
    const unknownDeployment = await rejectionOf(ask(azure(palisade.keys.app, "gpt-4o")));
    expect(unknownDeployment).toBeInstanceOf(PermissionDeniedError);
    expect(unknownDeployment).toMatchObject({ status: 403, code: "model_not_allowed" });
    expect(await rejectionOf(ask(azure(palisade.keys.strict), `Charge card ${CARD_NUMBER}`))).toMatchObject({ status: 422, code: "sensitive_data_detected" });
    expect(await rejectionOf(ask(azure(palisade.keys.tiny)))).toBeInstanceOf(RateLimitError);
  });
});

describe("openai: OpenAI pointed at Azure's v1 API (baseURL <palisade>/api/openai/v1)", () => {
  it("chat, embeddings and responses", async () => {
    const client = azureV1(palisade.keys.app);
    const completion = await client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: "hello" }] });
    expect(completion.choices[0]?.message.content).toBe(MOCK_REPLY);
    const embeddings = await client.embeddings.create({ model: EMBEDDINGS_MODEL, input: "refund policy" });
    expect(embeddings.data[0]?.embedding).toEqual(expectedVector("refund policy"));
    const response = await client.responses.create({ model: CHAT_MODEL, input: "hello" });
    expect(response.output_text).toBe(MOCK_RESPONSE);
  });

  it("models: list and retrieve answer with the project's allowlist, as /v1/models does", async () => {
    const client = azureV1(palisade.keys.app);
    const listed = await client.models.list();
    expect(listed.data.map((model) => model.id)).toEqual([CHAT_MODEL, EMBEDDINGS_MODEL]);
    expect(listed.data[0]).toMatchObject({ object: "model", owned_by: "palisade:acme" });
    expect(await client.models.retrieve(EMBEDDINGS_MODEL)).toMatchObject({ id: EMBEDDINGS_MODEL, object: "model" });
    const onV1 = await openai(palisade.keys.app).models.list();
    expect(listed.data).toEqual(onV1.data);
  });

  it("models: governed like /v1/models (401 unknown key, 403 without models.list, 404 for a model the project lacks)", async () => {
    expect(await rejectionOf(azureV1(palisade.keys.unknown).models.list())).toBeInstanceOf(AuthenticationError);
    expect(await rejectionOf(azureV1(palisade.keys.tiny).models.list())).toMatchObject({ status: 403, code: "missing_permission" });
    const missing = await rejectionOf(azureV1(palisade.keys.app).models.retrieve("gpt-4o"));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: "not_found" });
    expect((await azureV1(palisade.keys.lister).models.list()).data.map((model) => model.id)).toEqual([CHAT_MODEL, EMBEDDINGS_MODEL]);
  });
});

describe("openai: AzureOpenAI models (GET /openai/models?api-version=) and deployments", () => {
  it("models.list() and models.retrieve() answer with the project's allowlist, the key sent as api-key", async () => {
    const client = azure(palisade.keys.app);
    expect((await client.models.list()).data.map((model) => model.id)).toEqual([CHAT_MODEL, EMBEDDINGS_MODEL]);
    expect(await client.models.retrieve(CHAT_MODEL)).toMatchObject({ id: CHAT_MODEL, object: "model", owned_by: "palisade:acme" });
    expect(await rejectionOf(client.models.retrieve("gpt-4o"))).toBeInstanceOf(NotFoundError);
    expect(await rejectionOf(azure(palisade.keys.unknown).models.list())).toBeInstanceOf(AuthenticationError);
    expect(await rejectionOf(azure(palisade.keys.tiny).models.list())).toMatchObject({ status: 403, code: "missing_permission" });
  });

  it("the deployments listing (an Azure management API) is refused as not governed", async () => {
    const error = await rejectionOf(azure(palisade.keys.app).get("/deployments"));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "endpoint_not_governed" });
  });
});
