import { type AIMessageChunk } from "@langchain/core/messages";
import { AzureChatOpenAI, AzureOpenAIEmbeddings, ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { DEFAULT_EMBEDDING_DIMENSIONS, deterministicVector } from "../../local/mockOpenAi/embeddings.js";
import { toolDirective } from "../../local/mockOpenAi/toolCalls.js";
import { tool } from "@langchain/core/tools";
import { AuthenticationError, PermissionDeniedError, RateLimitError, UnprocessableEntityError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CARD_NUMBER,
  CHARGE_PROMPT,
  CHARGE_TOOL,
  CHAT_MODEL,
  type CompatStack,
  EMBEDDINGS_MODEL,
  MOCK_REPLY,
  MOCK_RESPONSE,
  REDACTED_CARD,
  WEATHER_ARGUMENTS,
  WEATHER_PROMPT,
  WEATHER_TOOL,
  mockUsage,
  rejectionOf,
  startCompatStack,
} from "./compatStack.js";

let palisade: CompatStack;

const weather = tool(async ({ city }) => `Sunny in ${city}`, {
  name: WEATHER_TOOL,
  description: "Current weather in a city",
  schema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
});

/** ChatOpenAI pointed at Palisade: `configuration.baseURL` and the key. No retries, so refusals surface at once. */
const chat = (apiKey: string): ChatOpenAI => new ChatOpenAI({ model: CHAT_MODEL, apiKey, maxRetries: 0, configuration: { baseURL: palisade.baseUrl } });

const API_VERSION = "2024-10-21";
/** AzureChatOpenAI with only the endpoint changed: azureOpenAIEndpoint, the key, the deployment and the api version. */
const azureChat = (apiKey: string, deployment = CHAT_MODEL): AzureChatOpenAI =>
  new AzureChatOpenAI({ azureOpenAIEndpoint: palisade.endpoint, azureOpenAIApiKey: apiKey, azureOpenAIApiDeploymentName: deployment, azureOpenAIApiVersion: API_VERSION, maxRetries: 0 });
const expectedVector = (text: string): number[] => Array.from(deterministicVector(text, DEFAULT_EMBEDDING_DIMENSIONS));

beforeAll(async () => {
  palisade = await startCompatStack();
}, 60_000);

afterAll(async () => {
  await palisade?.stop();
});

describe("@langchain/openai: ChatOpenAI with configuration.baseURL and a Palisade key", () => {
  it("invoke: the answer and usage_metadata", async () => {
    const prompt = "Summarise our refund policy.";
    const message = await chat(palisade.keys.app).invoke(prompt);
    expect(message.content).toBe(MOCK_REPLY);
    const usage = mockUsage(prompt, MOCK_REPLY);
    expect(message.usage_metadata).toMatchObject({ input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.total_tokens });
    expect(message.response_metadata.finish_reason).toBe("stop");
  });

  it("stream: the chunks concatenate to the answer, with the usage LangChain asks for (stream_options)", async () => {
    const prompt = "Stream our refund policy.";
    let merged: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await chat(palisade.keys.app).stream(prompt)) {
      chunks += 1;
      merged = merged ? merged.concat(chunk) : chunk;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(merged?.content).toBe(MOCK_REPLY);
    const usage = mockUsage(prompt, MOCK_REPLY);
    expect(merged?.usage_metadata).toMatchObject({ input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.total_tokens });
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.stream_options).toEqual({ include_usage: true });
  });

  it("tools: bindTools gives a tool call with its name and parsed arguments", async () => {
    const message = await chat(palisade.keys.app).bindTools([weather]).invoke(WEATHER_PROMPT);
    expect(message.tool_calls?.map((call) => [call.name, call.args])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
    expect(message.response_metadata.finish_reason).toBe("tool_calls");
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.tools).toMatchObject([{ type: "function", function: { name: WEATHER_TOOL } }]);
  });

  it("tools streamed: the tool call chunks concatenate to the same call", async () => {
    let merged: AIMessageChunk | undefined;
    for await (const chunk of await chat(palisade.keys.app).bindTools([weather]).stream(WEATHER_PROMPT)) merged = merged ? merged.concat(chunk) : chunk;
    expect(merged?.tool_call_chunks?.length).toBeGreaterThan(0);
    expect(merged?.tool_calls?.map((call) => [call.name, call.args])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
  });

  it("a card number in the model's tool-call arguments arrives redacted, plain and streamed, and still parses", async () => {
    const charge = tool(async () => "charged", { name: CHARGE_TOOL, description: "Charge a card", schema: z.object({ card: z.string(), amount: z.number() }) });
    const model = chat(palisade.keys.app).bindTools([charge]);
    const plain = await model.invoke(CHARGE_PROMPT);
    let streamed: AIMessageChunk | undefined;
    for await (const chunk of await model.stream(CHARGE_PROMPT)) streamed = streamed ? streamed.concat(chunk) : chunk;
    for (const message of [plain, streamed]) {
      expect(message?.tool_calls?.[0]?.args).toMatchObject({ card: expect.stringMatching(REDACTED_CARD), amount: 20 });
      expect(message?.invalid_tool_calls ?? []).toEqual([]);
    }
  });

  it("structured output: withStructuredOutput(zod) sends a json_schema response_format and parses the answer", async () => {
    const place = z.object({ city: z.string(), note: z.string() });
    const answer = await chat(palisade.keys.app).withStructuredOutput(place, { name: "place" }).invoke(JSON.stringify({ city: "Paris", note: "[[mock:echo]]" }));
    expect(answer).toEqual({ city: "Paris", note: "[[mock:echo]]" });
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "place" } });
  });
});

describe("@langchain/openai: the errors ChatOpenAI raises for Palisade's refusals", () => {
  it("401 → the openai AuthenticationError, tagged MODEL_AUTHENTICATION", async () => {
    const error = await rejectionOf(chat(palisade.keys.unknown).invoke("hello"));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", lc_error_code: "MODEL_AUTHENTICATION" });
  });

  it("403 → PermissionDeniedError with code missing_permission", async () => {
    const error = await rejectionOf(chat(palisade.keys.lister).invoke("hello"));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "missing_permission" });
  });

  it("422 → UnprocessableEntityError with code sensitive_data_detected", async () => {
    const error = await rejectionOf(chat(palisade.keys.strict).invoke(`Charge card ${CARD_NUMBER}`));
    expect(error).toBeInstanceOf(UnprocessableEntityError);
    expect(error).toMatchObject({ status: 422, code: "sensitive_data_detected" });
  });

  it("429 → RateLimitError tagged MODEL_RATE_LIMIT, also from a stream", async () => {
    const error = await rejectionOf(chat(palisade.keys.tiny).invoke("hello"));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded", lc_error_code: "MODEL_RATE_LIMIT" });
    const streamed = await rejectionOf(
      (async () => {
        for await (const chunk of await chat(palisade.keys.tiny).stream("hello")) void chunk;
      })(),
    );
    expect(streamed).toBeInstanceOf(RateLimitError);
  });
});

describe("@langchain/openai: OpenAIEmbeddings and the Responses API", () => {
  it("OpenAIEmbeddings: embedDocuments and embedQuery give the upstream's vectors", async () => {
    const embeddings = new OpenAIEmbeddings({ model: EMBEDDINGS_MODEL, apiKey: palisade.keys.app, configuration: { baseURL: palisade.baseUrl } });
    const vectors = await embeddings.embedDocuments(["refund policy", "shipping times"]);
    expect(vectors).toEqual([expectedVector("refund policy"), expectedVector("shipping times")]);
    expect(await embeddings.embedQuery("refund policy")).toEqual(expectedVector("refund policy"));
  });

  it("ChatOpenAI with useResponsesApi: the answer and usage through /v1/responses", async () => {
    const model = new ChatOpenAI({ model: CHAT_MODEL, apiKey: palisade.keys.app, maxRetries: 0, useResponsesApi: true, configuration: { baseURL: palisade.baseUrl } });
    const message = await model.invoke("hello");
    expect(message.text).toBe(MOCK_RESPONSE);
    expect(message.usage_metadata?.output_tokens).toBe(Math.ceil(MOCK_RESPONSE.length / 4));
    let streamed: AIMessageChunk | undefined;
    for await (const chunk of await model.stream("hello")) streamed = streamed ? streamed.concat(chunk) : chunk;
    expect(streamed?.text).toBe(MOCK_RESPONSE);
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.path).toMatch(/responses$/);
  });

  it("ChatOpenAI with useResponsesApi: tool calls", async () => {
    const model = new ChatOpenAI({ model: CHAT_MODEL, apiKey: palisade.keys.app, maxRetries: 0, useResponsesApi: true, configuration: { baseURL: palisade.baseUrl } });
    const message = await model.bindTools([weather]).invoke(WEATHER_PROMPT);
    expect(message.tool_calls?.map((call) => [call.name, call.args])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
  });
});

describe("@langchain/openai: AzureChatOpenAI and AzureOpenAIEmbeddings with only the endpoint changed", () => {
  it("invoke and stream: the answer and usage", async () => {
    const prompt = "Summarise our refund policy.";
    const message = await azureChat(palisade.keys.app).invoke(prompt);
    expect(message.content).toBe(MOCK_REPLY);
    const usage = mockUsage(prompt, MOCK_REPLY);
    expect(message.usage_metadata).toMatchObject({ input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens });
    let merged: AIMessageChunk | undefined;
    for await (const chunk of await azureChat(palisade.keys.app).stream(prompt)) merged = merged ? merged.concat(chunk) : chunk;
    expect(merged?.content).toBe(MOCK_REPLY);
    expect(merged?.usage_metadata?.total_tokens).toBe(usage.total_tokens);
  });

  it("tools plain and streamed", async () => {
    const model = azureChat(palisade.keys.app).bindTools([weather]);
    const plain = await model.invoke(WEATHER_PROMPT);
    let streamed: AIMessageChunk | undefined;
    for await (const chunk of await model.stream(WEATHER_PROMPT)) streamed = streamed ? streamed.concat(chunk) : chunk;
    for (const message of [plain, streamed]) expect(message?.tool_calls?.map((call) => [call.name, call.args])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
  });

  it("structured output: for gpt-4o deployments AzureChatOpenAI uses function calling; the tool call is parsed", async () => {
    const place = z.object({ city: z.string(), note: z.string() });
    const answer = await azureChat(palisade.keys.app).withStructuredOutput(place, { name: "place" }).invoke(`Where? ${toolDirective("place", JSON.stringify({ city: "Paris", note: "by tool" }))}`);
    expect(answer).toEqual({ city: "Paris", note: "by tool" });
  });

  it("AzureOpenAIEmbeddings: azureOpenAIBasePath (it ignores azureOpenAIEndpoint) and the upstream's vectors", async () => {
    const embeddings = new AzureOpenAIEmbeddings({
      azureOpenAIBasePath: `${palisade.endpoint}/openai/deployments`,
      azureOpenAIApiKey: palisade.keys.app,
      azureOpenAIApiDeploymentName: EMBEDDINGS_MODEL,
      azureOpenAIApiVersion: API_VERSION,
      maxRetries: 0,
    });
    expect(await embeddings.embedDocuments(["refund policy", "shipping times"])).toEqual([expectedVector("refund policy"), expectedVector("shipping times")]);
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.deployment).toBe(EMBEDDINGS_MODEL);
  });

  it("errors: 401, 403 for an unknown deployment, 422 and 429 with the openai classes", async () => {
    expect(await rejectionOf(azureChat(palisade.keys.unknown).invoke("hello"))).toBeInstanceOf(AuthenticationError);
    expect(await rejectionOf(azureChat(palisade.keys.app, "gpt-4o").invoke("hello"))).toMatchObject({ status: 403, code: "model_not_allowed" });
    expect(await rejectionOf(azureChat(palisade.keys.strict).invoke(`Charge card ${CARD_NUMBER}`))).toBeInstanceOf(UnprocessableEntityError);
    expect(await rejectionOf(azureChat(palisade.keys.tiny).invoke("hello"))).toBeInstanceOf(RateLimitError);
  });
});
