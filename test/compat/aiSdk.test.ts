import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, Output, generateText, jsonSchema, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CARD_NUMBER,
  CHARGE_PROMPT,
  CHARGE_TOOL,
  CHAT_MODEL,
  type CompatStack,
  MOCK_REPLY,
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
