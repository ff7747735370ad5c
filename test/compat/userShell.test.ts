import { ChatOpenAI } from "@langchain/openai";
import { generateText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { developmentShellExports } from "../../local/developmentShellExports.js";
import { CHAT_MODEL, type CompatStack, MOCK_REPLY, MOCK_RESPONSE, startCompatStack } from "./compatStack.js";
import { readmeExamples, runExample } from "./readmeExamples.js";

let palisade: CompatStack;
let exported: Record<string, string>;

beforeAll(async () => {
  palisade = await startCompatStack();
  // What a developer has after pasting `npm start`'s output into the shell that runs the app.
  exported = developmentShellExports({ hostUrl: palisade.endpoint, apiKey: palisade.keys.app, stackEnvironment: {}, policyPath: "config/policy.sample.yaml" });
  Object.assign(process.env, exported);
}, 60_000);

afterAll(async () => {
  await palisade?.stop();
});

describe("clients built with no options, in a shell where npm start's exports were pasted", () => {
  it("openai: new OpenAI() reads OPENAI_BASE_URL and OPENAI_API_KEY", async () => {
    const completion = await new OpenAI().chat.completions.create({ model: CHAT_MODEL, messages: [{ role: "user", content: "hello" }] });
    expect(completion.choices[0]?.message.content).toBe(MOCK_REPLY);
  });

  it("@langchain/openai: new ChatOpenAI({ model }) reads them too", async () => {
    const message = await new ChatOpenAI({ model: CHAT_MODEL }).invoke("hello");
    expect(message.content).toBe(MOCK_REPLY);
  });

  it("ai: the default `openai` provider of @ai-sdk/openai, imported after the shell set them", async () => {
    const { openai } = await import("@ai-sdk/openai");
    const result = await generateText({ model: openai.chat(CHAT_MODEL), prompt: "hello" });
    expect(result.text).toBe(MOCK_REPLY);
  });

  it("every call reached the upstream through Palisade (the key was Palisade's, not the mock's)", () => {
    const forwarded = palisade.gateway.mocks.upstream.requests();
    expect(forwarded.length).toBeGreaterThanOrEqual(3);
    for (const request of forwarded) expect(JSON.stringify(request.headers)).not.toContain(palisade.keys.app);
  });
});

describe("the README's examples, run as `node example.mjs` in that shell", () => {
  /** What each example prints, in the README's order. */
  const EXPECTED: readonly (readonly string[])[] = [
    [MOCK_REPLY, MOCK_REPLY],
    ["2 1536", MOCK_RESPONSE],
    [MOCK_REPLY, "1536"],
    [MOCK_REPLY, "1536", MOCK_REPLY, "1536"],
    [MOCK_RESPONSE, "1536", MOCK_REPLY],
  ];

  it("are the ones this test knows", async () => {
    expect((await readmeExamples()).length).toBe(EXPECTED.length);
  });

  // Concurrently: each is a node process that spends most of its time starting up and importing its client.
  it.concurrent.for(EXPECTED.map((lines, index) => ({ example: `#${index + 1}`, index, lines })))("example $example prints what the client got from Palisade", { timeout: 90_000 }, async ({ index, lines }, { expect }) => {
    const source = (await readmeExamples())[index] ?? "";
    const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...exported };
    // As the Azure example's comment tells its reader: AzureOpenAI refuses `endpoint` beside OPENAI_BASE_URL.
    if (source.includes("new AzureOpenAI(")) delete environment.OPENAI_BASE_URL;
    expect(await runExample(source, index, palisade.endpoint, environment)).toEqual(lines);
  });
});
