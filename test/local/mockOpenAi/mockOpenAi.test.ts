import OpenAI, { AzureOpenAI, BadRequestError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { sayDirective, toolDirective } from "../../../local/mockOpenAi/toolCalls.js";

let mock: RunningMockOpenAi;
let platform: OpenAI;
let azure: AzureOpenAI;

beforeAll(async () => {
  mock = await startMockOpenAi({ name: "mock-a", region: "westeurope" });
  platform = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: "unused", maxRetries: 0 });
  azure = new AzureOpenAI({ endpoint: mock.url, apiKey: "unused", apiVersion: "2024-10-21", deployment: "embed-small", maxRetries: 0 });
});

afterAll(async () => {
  await mock.stop();
});

describe("mock embeddings", () => {
  it("answers one deterministic unit vector per input, in every input shape", async () => {
    const one = await platform.embeddings.create({ model: "text-embedding-3-small", input: "hello", encoding_format: "float" });
    const again = await platform.embeddings.create({ model: "text-embedding-3-small", input: "hello", encoding_format: "float" });
    const other = await platform.embeddings.create({ model: "text-embedding-3-small", input: "goodbye", encoding_format: "float" });
    expect(one.data[0]?.embedding).toHaveLength(1536);
    expect(one.data[0]?.embedding).toEqual(again.data[0]?.embedding);
    expect(one.data[0]?.embedding).not.toEqual(other.data[0]?.embedding);
    const norm = Math.sqrt((one.data[0]?.embedding ?? []).reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(one.usage.prompt_tokens).toBeGreaterThan(0);

    const many = await platform.embeddings.create({ model: "m", input: ["a", "b", "c"], dimensions: 8, encoding_format: "float" });
    expect(many.data.map((item) => [item.index, item.embedding.length])).toEqual([[0, 8], [1, 8], [2, 8]]);
    const tokens = await platform.embeddings.create({ model: "m", input: [1, 2, 3], dimensions: 4, encoding_format: "float" });
    expect(tokens.data).toHaveLength(1);
    expect(tokens.usage.prompt_tokens).toBe(3);
    const tokenLists = await platform.embeddings.create({ model: "m", input: [[1, 2], [3]], dimensions: 4, encoding_format: "float" });
    expect(tokenLists.data).toHaveLength(2);
  });

  it("sends base64 (little-endian float32) when asked, which the SDK decodes to the same vector", async () => {
    const float = await platform.embeddings.create({ model: "m", input: "same text", dimensions: 16, encoding_format: "float" });
    // No encoding_format: the SDK asks for base64 and decodes it.
    const decoded = await platform.embeddings.create({ model: "m", input: "same text", dimensions: 16 });
    expect(Array.from(decoded.data[0]?.embedding ?? [])).toEqual(float.data[0]?.embedding);
    expect(mock.requests().at(-1)?.body.encoding_format).toBe("base64");
  });

  it("serves Azure's deployment route and records the deployment", async () => {
    const result = await azure.embeddings.create({ model: "ignored", input: "azure", dimensions: 4, encoding_format: "float" });
    expect(result.data[0]?.embedding).toHaveLength(4);
    expect(mock.requests().at(-1)).toMatchObject({ path: "/openai/deployments/embed-small/embeddings", deployment: "embed-small" });
  });

  it("refuses an input it cannot read with a 400", async () => {
    await expect(platform.embeddings.create({ model: "m", input: [] as string[], encoding_format: "float" })).rejects.toBeInstanceOf(BadRequestError);
  });

  it("obeys fault directives in the input", async () => {
    await expect(platform.embeddings.create({ model: "m", input: "[[mock:status=400]]", encoding_format: "float" })).rejects.toMatchObject({ status: 400 });
  });
});

describe("mock Responses API", () => {
  it("answers a plain response with output text and usage", async () => {
    const response = await platform.responses.create({ model: "gpt-4o-mini", instructions: "be brief", input: "hello" });
    expect(response.output_text).toBe("This is a mock response from mock-a (westeurope).");
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.status).toBe("completed");
  });

  it("echoes the last user message and reads every kind of input item", async () => {
    const response = await platform.responses.create({
      model: "gpt-4o-mini",
      input: [
        { role: "user", content: [{ type: "input_text", text: "first [[mock:echo]]" }] },
        { type: "function_call", call_id: "call_1", name: "lookup", arguments: '{"q":"x"}' },
        { type: "function_call_output", call_id: "call_1", output: "result" },
        { role: "user", content: "second" },
      ],
    });
    expect(response.output_text).toBe("second");
  });

  it("streams typed events the SDK assembles, ending with response.completed and usage", async () => {
    const stream = await platform.responses.create({ model: "gpt-4o-mini", input: "stream it", stream: true });
    const types: string[] = [];
    let text = "";
    let usage: OpenAI.Responses.ResponseUsage | null | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") usage = event.response.usage;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(types).toContain("response.output_item.added");
    expect(text).toBe("This is a mock response from mock-a (westeurope).");
    expect(usage?.output_tokens).toBeGreaterThan(0);
    const final = await platform.responses.stream({ model: "gpt-4o-mini", input: "stream helper" }).finalResponse();
    expect(final.output_text).toBe("This is a mock response from mock-a (westeurope).");
  });

  it("answers with a function call when told, plain and streamed (arguments in fragments)", async () => {
    const directive = toolDirective("get_weather", '{"city":"Paris, FR"}');
    const plain = await platform.responses.create({ model: "m", input: `call it ${directive}` });
    expect(plain.output[0]).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris, FR"}' });
    const stream = await platform.responses.create({ model: "m", input: `call it ${directive}`, stream: true });
    const deltas: string[] = [];
    for await (const event of stream) if (event.type === "response.function_call_arguments.delta") deltas.push(event.delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe('{"city":"Paris, FR"}');
  });

  it("says scripted text, never carried in clear by the prompt, plain and streamed", async () => {
    const plain = await platform.responses.create({ model: "m", input: `say it ${sayDirective("card 4111 1111 1111 1111")}` });
    expect(plain.output_text).toBe("card 4111 1111 1111 1111");
    const final = await platform.responses.stream({ model: "m", input: `say it ${sayDirective("card 4111 1111 1111 1111")}` }).finalResponse();
    expect(final.output_text).toBe("card 4111 1111 1111 1111");
  });

  it("stores responses unless store is false, and refuses an unknown previous_response_id", async () => {
    const stored = await platform.responses.create({ model: "m", input: "keep me" });
    const unstored = await platform.responses.create({ model: "m", input: "forget me", store: false });
    expect(mock.storedResponseIds()).toContain(stored.id);
    expect(mock.storedResponseIds()).not.toContain(unstored.id);
    const followUp = await platform.responses.create({ model: "m", input: "and then", previous_response_id: stored.id });
    expect(followUp.previous_response_id).toBe(stored.id);
    await expect(platform.responses.create({ model: "m", input: "x", previous_response_id: unstored.id })).rejects.toMatchObject({ status: 400, code: "previous_response_not_found" });
  });

  it("serves Azure's v1 and dated Responses paths", async () => {
    const v1 = new OpenAI({ baseURL: `${mock.url}/openai/v1`, apiKey: "unused", maxRetries: 0 });
    await v1.responses.create({ model: "gpt-4o-mini", input: "v1" });
    expect(mock.requests().at(-1)?.path).toBe("/openai/v1/responses");
    await azure.responses.create({ model: "gpt-4o-mini", input: "dated" });
    expect(mock.requests().at(-1)?.path).toBe("/openai/responses");
  });
});
