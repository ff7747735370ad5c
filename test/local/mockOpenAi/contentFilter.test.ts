import { APIError, AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";

let mock: RunningMockOpenAi;
beforeAll(async () => {
  mock = await startMockOpenAi();
});
afterAll(async () => {
  await mock?.stop();
});

const client = () => new AzureOpenAI({ endpoint: mock.url, apiKey: "unused", apiVersion: "2024-10-21", deployment: "gpt-4o-mini", maxRetries: 0 });
const ask = (content: string) => client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] });

describe("the mock upstream's Azure content filter", () => {
  it("refuses a prompt with Azure OpenAI's 400 content_filter error and its innererror", async () => {
    const error = await ask("[[mock-filter:prompt=jailbreak]] hi").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    const apiError = error as APIError;
    expect({ status: apiError.status, code: apiError.code, param: apiError.param }).toEqual({ status: 400, code: "content_filter", param: "prompt" });
    expect(apiError.error).toMatchObject({ innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { jailbreak: { filtered: true, detected: true }, hate: { filtered: false, severity: "safe" } } } });
  });

  it("annotates a plain answer with prompt_filter_results and content_filter_results", async () => {
    const answer = (await ask("[[mock-filter:annotate]] hi")) as unknown as { prompt_filter_results: unknown[]; choices: { content_filter_results: unknown; message: { content: string } }[] };
    expect(answer.prompt_filter_results).toEqual([{ prompt_index: 0, content_filter_results: expect.objectContaining({ jailbreak: { filtered: false, detected: false } }) }]);
    expect(answer.choices[0]?.content_filter_results).toMatchObject({ violence: { filtered: false, severity: "safe" } });
    expect(answer.choices[0]?.message.content).toContain("mock completion");
  });

  it("streams the prompt's annotations first and ends a filtered answer with finish_reason content_filter", async () => {
    const stream = await client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[mock-filter:completion=violence]] hi" }], stream: true });
    const chunks: Record<string, unknown>[] = [];
    for await (const chunk of stream) chunks.push(chunk as unknown as Record<string, unknown>);
    expect(chunks.find((chunk) => "prompt_filter_results" in chunk)).toBeDefined();
    const last = chunks.at(-1) as { choices: { finish_reason: string; content_filter_results: unknown }[] };
    expect(last.choices[0]?.finish_reason).toBe("content_filter");
    expect(last.choices[0]?.content_filter_results).toMatchObject({ violence: { filtered: true, severity: "high" } });
  });
});
