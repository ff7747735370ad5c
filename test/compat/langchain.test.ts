import { type AIMessageChunk } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
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
  MOCK_REPLY,
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
