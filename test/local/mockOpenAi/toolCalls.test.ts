import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { refuseDirective, sayDirective, toolDirective } from "../../../local/mockOpenAi/toolCalls.js";

const ARGS = JSON.stringify({ city: "Paris", card: "4111 1111 1111 1111" });

describe("mock upstream: scripted tool calls", () => {
  let mock: RunningMockOpenAi;
  let client: OpenAI;
  beforeAll(async () => {
    mock = await startMockOpenAi();
    client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: "test", maxRetries: 0 });
  });
  afterAll(async () => mock.stop());

  it("answers with the tool call it is told, plain, and records what it received", async () => {
    mock.clearRequests();
    const prompt = `call it ${toolDirective("lookup", ARGS)}`;
    const completion = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: prompt }] });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.tool_calls?.[0]).toMatchObject({ type: "function", function: { name: "lookup", arguments: ARGS } });
    // The prompt never carried the arguments in clear.
    expect(prompt).not.toContain("4111");
    expect(mock.requests().at(-1)?.body).toMatchObject({ messages: [{ role: "user", content: prompt }] });
  });

  it("streams the tool call's arguments in fragments that the SDK's stream helper puts back together", async () => {
    const stream = client.chat.completions.stream({ model: "m", messages: [{ role: "user", content: `${toolDirective("lookup", ARGS)} ${toolDirective("second", "{}")}` }] });
    let fragments = 0;
    stream.on("chunk", (chunk) => {
      if (chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments) fragments += 1;
    });
    const final = await stream.finalChatCompletion();
    expect(fragments).toBeGreaterThan(3);
    expect(final.choices[0]?.message.tool_calls?.map((call) => call.type === "function" && [call.function.name, call.function.arguments])).toEqual([
      ["lookup", ARGS],
      ["second", "{}"],
    ]);
  });

  it("answers with scripted content and refusals, plain and streamed", async () => {
    const plain = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: `${sayDirective("card 4111 1111 1111 1111")} ${refuseDirective("no can do")}` }] });
    expect(plain.choices[0]?.message).toMatchObject({ content: "card 4111 1111 1111 1111", refusal: "no can do" });
    const streamed = await client.chat.completions.stream({ model: "m", messages: [{ role: "user", content: sayDirective("hello there world") }] }).finalChatCompletion();
    expect(streamed.choices[0]?.message.content).toBe("hello there world");
  });
});
