import { createAzure } from "@ai-sdk/azure";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, Output, embed, embedMany, generateText, jsonSchema, streamText, tool } from "ai";
import { DEFAULT_EMBEDDING_DIMENSIONS, deterministicVector } from "../../local/mockOpenAi/embeddings.js";
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
  WEATHER_PARAMETERS,
  WEATHER_PROMPT,
  WEATHER_TOOL,
  mockUsage,
  rejectionOf,
  startCompatStack,
} from "./compatStack.js";

let palisade: CompatStack;

/** No `execute`: the test reads the call the model asked for, as an app that runs tools itself does. */
const tools = { [WEATHER_TOOL]: tool({ description: "Current weather in a city", inputSchema: jsonSchema<typeof WEATHER_ARGUMENTS>(WEATHER_PARAMETERS) }) };

/** The provider as a user creates it: `baseURL` and the key. `.chat()` is the Chat Completions API. */
const provider = (apiKey: string) => createOpenAI({ baseURL: palisade.baseUrl, apiKey });
/** @ai-sdk/azure against a host that is not *.openai.azure.com: `baseURL` is used as is, so it names Azure's v1 API. */
const azure = (apiKey: string) => createAzure({ baseURL: `${palisade.endpoint}/openai/v1`, apiKey });
const expectedVector = (text: string): number[] => Array.from(deterministicVector(text, DEFAULT_EMBEDDING_DIMENSIONS));

beforeAll(async () => {
  palisade = await startCompatStack();
}, 60_000);

afterAll(async () => {
  await palisade?.stop();
});

describe("ai + @ai-sdk/openai: createOpenAI({ baseURL, apiKey }).chat(model)", () => {
  it("generateText: the answer, the finish reason and the usage", async () => {
    const prompt = "Summarise our refund policy.";
    const result = await generateText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt });
    expect(result.text).toBe(MOCK_REPLY);
    expect(result.finishReason).toBe("stop");
    const usage = mockUsage(prompt, MOCK_REPLY);
    expect(result.usage).toMatchObject({ inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, totalTokens: usage.total_tokens });
  });

  it("streamText: the text stream adds up to the answer, with the usage", async () => {
    const prompt = "Stream our refund policy.";
    const errors: unknown[] = [];
    const result = streamText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt, onError: ({ error }) => void errors.push(error) });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.join("")).toBe(MOCK_REPLY);
    const usage = mockUsage(prompt, MOCK_REPLY);
    expect(await result.usage).toMatchObject({ inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, totalTokens: usage.total_tokens });
    expect(errors).toEqual([]);
  });

  it("tools: generateText returns the tool call with its name and arguments", async () => {
    const result = await generateText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    expect(result.finishReason).toBe("tool-calls");
    expect(result.toolCalls.map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.tools).toMatchObject([{ type: "function", function: { name: WEATHER_TOOL } }]);
  });

  it("tools streamed: streamText assembles the argument fragments into the same call", async () => {
    const result = streamText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    const deltas: string[] = [];
    for await (const part of result.fullStream) if (part.type === "tool-input-delta") deltas.push(part.delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect((await result.toolCalls).map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
  });

  it("a card number in the model's tool-call arguments arrives redacted, plain and streamed, and still parses", async () => {
    const chargeTools = { [CHARGE_TOOL]: tool({ description: "Charge a card", inputSchema: z.object({ card: z.string(), amount: z.number() }) }) };
    const plain = await generateText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt: CHARGE_PROMPT, tools: chargeTools });
    const streamed = streamText({ model: provider(palisade.keys.app).chat(CHAT_MODEL), prompt: CHARGE_PROMPT, tools: chargeTools });
    for (const calls of [plain.toolCalls, await streamed.toolCalls]) {
      expect(calls.map((call) => [call.toolName, call.invalid ?? false])).toEqual([[CHARGE_TOOL, false]]);
      expect(calls[0]?.input).toMatchObject({ card: expect.stringMatching(REDACTED_CARD), amount: 20 });
    }
  });

  it("structured output: Output.object(zod) sends a json_schema response_format and parses the answer", async () => {
    const result = await generateText({
      model: provider(palisade.keys.app).chat(CHAT_MODEL),
      output: Output.object({ schema: z.object({ city: z.string(), note: z.string() }) }),
      prompt: JSON.stringify({ city: "Paris", note: "[[mock:echo]]" }),
    });
    expect(result.output).toEqual({ city: "Paris", note: "[[mock:echo]]" });
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.body.response_format).toMatchObject({ type: "json_schema" });
  });
});

describe("ai + @ai-sdk/openai: the APICallError the SDK raises for Palisade's refusals", () => {
  /** No retries: a retried refusal surfaces as a RetryError wrapping the same APICallError. */
  const refusal = async (apiKey: string, prompt = "hello"): Promise<APICallError> => {
    const error = await rejectionOf(generateText({ model: provider(apiKey).chat(CHAT_MODEL), prompt, maxRetries: 0 }));
    expect(APICallError.isInstance(error)).toBe(true);
    return error as APICallError;
  };
  const codeOf = (error: APICallError): unknown => (JSON.parse(error.responseBody ?? "{}") as { error?: { code?: unknown } }).error?.code;

  it("401: statusCode 401, code invalid_api_key, not retryable", async () => {
    const error = await refusal(palisade.keys.unknown);
    expect([error.statusCode, codeOf(error), error.isRetryable]).toEqual([401, "invalid_api_key", false]);
  });

  it("403: statusCode 403, code missing_permission", async () => {
    const error = await refusal(palisade.keys.lister);
    expect([error.statusCode, codeOf(error), error.isRetryable]).toEqual([403, "missing_permission", false]);
  });

  it("422: statusCode 422, code sensitive_data_detected, the message without the value", async () => {
    const error = await refusal(palisade.keys.strict, `Charge card ${CARD_NUMBER}`);
    expect([error.statusCode, codeOf(error)]).toEqual([422, "sensitive_data_detected"]);
    expect(error.message).not.toContain(CARD_NUMBER);
  });

  it("429: statusCode 429, code rate_limit_exceeded, with retry-after", async () => {
    const error = await refusal(palisade.keys.tiny);
    expect([error.statusCode, codeOf(error)]).toEqual([429, "rate_limit_exceeded"]);
    expect(error.responseHeaders?.["retry-after"]).toMatch(/^\d+$/);
  });
});

describe("ai + @ai-sdk/openai: the default model (Responses API) and embeddings", () => {
  it("openai(model) is the Responses API: generateText and streamText with usage", async () => {
    const prompt = "Summarise our refund policy.";
    const result = await generateText({ model: provider(palisade.keys.app)(CHAT_MODEL), prompt });
    expect(result.text).toBe(MOCK_RESPONSE);
    expect(result.usage).toMatchObject({ inputTokens: Math.ceil(prompt.length / 4), outputTokens: Math.ceil(MOCK_RESPONSE.length / 4) });
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.path).toMatch(/responses$/);
    const streamed = streamText({ model: provider(palisade.keys.app)(CHAT_MODEL), prompt });
    expect(await streamed.text).toBe(MOCK_RESPONSE);
    expect((await streamed.usage).outputTokens).toBe(Math.ceil(MOCK_RESPONSE.length / 4));
  });

  it("openai(model) with tools: plain and streamed function calls", async () => {
    const plain = await generateText({ model: provider(palisade.keys.app)(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    expect(plain.toolCalls.map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
    const streamed = streamText({ model: provider(palisade.keys.app)(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    expect((await streamed.toolCalls).map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
  });

  it("embed and embedMany: the upstream's vectors and usage", async () => {
    const model = provider(palisade.keys.app).embedding(EMBEDDINGS_MODEL);
    const one = await embed({ model, value: "refund policy" });
    expect(one.embedding).toEqual(expectedVector("refund policy"));
    const many = await embedMany({ model, values: ["refund policy", "shipping times"] });
    expect(many.embeddings).toEqual([expectedVector("refund policy"), expectedVector("shipping times")]);
    expect(many.usage.tokens).toBe(Math.ceil("refund policy".length / 4) + Math.ceil("shipping times".length / 4));
  });
});

describe("ai + @ai-sdk/azure: createAzure({ baseURL: <palisade>/api/openai/v1, apiKey })", () => {
  it("azure(deployment) (Responses API), azure.chat(deployment) and streamText", async () => {
    expect((await generateText({ model: azure(palisade.keys.app)(CHAT_MODEL), prompt: "hello" })).text).toBe(MOCK_RESPONSE);
    const chat = await generateText({ model: azure(palisade.keys.app).chat(CHAT_MODEL), prompt: "hello" });
    expect(chat.text).toBe(MOCK_REPLY);
    expect(chat.usage.totalTokens).toBe(mockUsage("hello", MOCK_REPLY).total_tokens);
    const streamed = streamText({ model: azure(palisade.keys.app).chat(CHAT_MODEL), prompt: "hello" });
    expect(await streamed.text).toBe(MOCK_REPLY);
  });

  it("tools through azure.chat and azure(deployment), and structured output", async () => {
    const chat = await generateText({ model: azure(palisade.keys.app).chat(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    expect(chat.toolCalls.map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
    const responses = streamText({ model: azure(palisade.keys.app)(CHAT_MODEL), prompt: WEATHER_PROMPT, tools });
    expect((await responses.toolCalls).map((call) => [call.toolName, call.input])).toEqual([[WEATHER_TOOL, WEATHER_ARGUMENTS]]);
    const structured = await generateText({
      model: azure(palisade.keys.app).chat(CHAT_MODEL),
      output: Output.object({ schema: z.object({ city: z.string(), note: z.string() }) }),
      prompt: JSON.stringify({ city: "Paris", note: "[[mock:echo]]" }),
    });
    expect(structured.output).toEqual({ city: "Paris", note: "[[mock:echo]]" });
  });

  it("azure.embedding(deployment): the upstream's vectors", async () => {
    const result = await embedMany({ model: azure(palisade.keys.app).embedding(EMBEDDINGS_MODEL), values: ["refund policy"] });
    expect(result.embeddings).toEqual([expectedVector("refund policy")]);
  });

  it("useDeploymentBasedUrls: /openai/deployments/{d}/chat/completions?api-version=v1", async () => {
    const deployments = createAzure({ baseURL: `${palisade.endpoint}/openai`, apiKey: palisade.keys.app, useDeploymentBasedUrls: true });
    expect((await generateText({ model: deployments.chat(CHAT_MODEL), prompt: "hello" })).text).toBe(MOCK_REPLY);
    expect(palisade.gateway.mocks.upstream.requests().at(-1)?.deployment).toBe(CHAT_MODEL);
  });

  it("errors: APICallError with the status and code", async () => {
    const refused = async (apiKey: string, prompt = "hello", model = CHAT_MODEL): Promise<[number | undefined, unknown]> => {
      const error = await rejectionOf(generateText({ model: azure(apiKey).chat(model), prompt, maxRetries: 0 }));
      expect(APICallError.isInstance(error)).toBe(true);
      const apiError = error as APICallError;
      return [apiError.statusCode, (JSON.parse(apiError.responseBody ?? "{}") as { error?: { code?: unknown } }).error?.code];
    };
    expect(await refused(palisade.keys.unknown)).toEqual([401, "invalid_api_key"]);
    expect(await refused(palisade.keys.app, "hello", "gpt-4o")).toEqual([403, "model_not_allowed"]);
    expect(await refused(palisade.keys.strict, `Charge card ${CARD_NUMBER}`)).toEqual([422, "sensitive_data_detected"]);
    expect(await refused(palisade.keys.tiny)).toEqual([429, "rate_limit_exceeded"]);
  });
});
