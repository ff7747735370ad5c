import OpenAI, { AuthenticationError, PermissionDeniedError, RateLimitError, UnprocessableEntityError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CARD_NUMBER,
  CHARGE_PROMPT,
  CHARGE_TOOL,
  CHAT_MODEL,
  EMBEDDINGS_MODEL,
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

const weatherTool: OpenAI.ChatCompletionFunctionTool = { type: "function", function: { name: WEATHER_TOOL, description: "Current weather in a city", parameters: WEATHER_PARAMETERS, strict: true } };

/** Configured as the README says: the base URL and the key, nothing else. */
const openai = (apiKey: string): OpenAI => new OpenAI({ baseURL: palisade.baseUrl, apiKey });

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
