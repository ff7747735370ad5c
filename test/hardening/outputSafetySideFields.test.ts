import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { failureOf } from "./failureOf.js";
import { type ScriptedUpstream, scriptedResponse, startScriptedUpstream } from "./scriptedUpstream.js";

/**
 * Outside testing (session 12): content safety on answers read only the fields it had a rule for, while
 * output DLP reads every string. A harmful text in a chat message or delta field without a rule
 * (`reasoning_content`, a field added later) or in a Responses item of a hosted tool or an unknown type
 * reached the caller unscreened. The real `openai` client, the scripted upstream, the Content Safety
 * emulator (harm comes from `[[cs:violence=6]]` directives).
 */

const MODEL = "gpt-4o-mini";
const HARM = "and then the violence began [[cs:violence=6]] and it went on";
const CALM = "A calm morning in the garden, with tea and birdsong. ";

let upstream: ScriptedUpstream;
let gateway: GatewayStack<"unused">;
let apiKey: string;

function policy(): PolicyInput {
  return {
    version: 1,
    projects: [
      {
        id: "screened",
        residency: "eu",
        models: [{ name: MODEL, deployment: MODEL }],
        maxTokens: 512,
        contentSafety: { categories: { violence: { threshold: 4, action: "block" } }, output: true, outputWindowChars: 100 },
      },
    ],
    serviceAccounts: [{ id: "app", project: "screened", permissions: ["chat.completions", "responses.create"] }],
    endpoints: [
      { id: "scripted", provider: "azure", baseUrl: upstream.url, region: "westeurope", residency: "eu", class: "standard", deployments: [MODEL], operations: ["chat", "responses"], auth: { kind: "none" }, timeoutInMs: 5_000 },
    ],
  };
}

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy });
  apiKey = await gateway.createKey("screened", "app");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

const client = (): OpenAI => new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000 });


const chunk = (choices: unknown[]) => ({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1, model: MODEL, choices });
const chatAnswer = (message: Record<string, unknown>) => ({
  id: "chatcmpl-scripted",
  object: "chat.completion",
  created: 1,
  model: MODEL,
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
});
const usageChunk = { ...chunk([]), usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } };
/** `text` in pieces of about a token each (4 characters). */
const pieces = (text: string): string[] => text.match(/[\s\S]{1,4}/g) ?? [];

const responseShell = (output: unknown[]) => scriptedResponse(MODEL, output);
const calmMessage = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Done.", annotations: [] }] };

describe("content safety reads every field of an answer that output DLP reads", () => {
  it("chat, plain: a harmful text in a message field without a rule (reasoning_content) is refused; the same answer without it is served", async () => {
    upstream.answerNext({ json: chatAnswer({ content: "I will not tell that story.", reasoning_content: `${CALM}${HARM}` }) });
    const refused = await failureOf(client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me a story" }] }));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    upstream.answerNext({ json: chatAnswer({ content: "I will not tell that story.", reasoning_content: CALM }) });
    const served = await client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me a story" }] });
    expect((served.choices[0]?.message as unknown as { reasoning_content: string }).reasoning_content).toBe(CALM);
  });

  it("chat, streamed: a harmful text streamed in a delta field without a rule stops the stream, and none of its window reaches the client", async () => {
    const reasoning = `${CALM.repeat(4)}${HARM}`;
    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        ...pieces(reasoning).map((piece) => ({ data: chunk([{ index: 0, delta: { reasoning_content: piece }, finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: { content: "The end." }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me a story" }], stream: true });
    let shown = "";
    let reasoned = "";
    const failure = await (async () => {
      for await (const part of stream) {
        shown += JSON.stringify(part);
        reasoned += (part.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "";
      }
      return null;
    })().catch((error: unknown) => error);
    expect((failure as APIError | null)?.code).toBe("content_filter");
    expect(shown).not.toContain("[[cs:");
    expect(shown).not.toContain("The end.");
    expect(reasoning.startsWith(reasoned)).toBe(true);
    expect(reasoned.length).toBeLessThan(reasoning.indexOf("[[cs:"));
  });

  it("Responses, plain: a harmful text in a hosted tool's output or an item of an unknown type is refused", async () => {
    for (const item of [
      { type: "mcp_call", id: "mcp_1", server_label: "stories", name: "tell", arguments: "{}", output: HARM },
      { type: "future_item", id: "fi_1", payload: { note: HARM } },
    ]) {
      upstream.answerNext({ json: responseShell([item, calmMessage]) });
      const refused = await failureOf(client().responses.create({ model: MODEL, input: "Tell me a story" }));
      expect({ type: item.type, code: refused?.code }).toEqual({ type: item.type, code: "content_filter" });
    }
  });

  it("Responses, streamed: an item of an unknown type that arrives whole (output_item.done) is screened before it is released", async () => {
    const item = { type: "future_item", id: "fi_1", status: "completed", payload: { note: HARM } };
    upstream.answerNext({
      events: [
        { event: "response.created", data: { type: "response.created", response: { ...responseShell([]), status: "in_progress" } } },
        { event: "response.output_item.added", data: { type: "response.output_item.added", output_index: 0, item: { type: "future_item", id: "fi_1", status: "in_progress" } } },
        { event: "response.output_item.done", data: { type: "response.output_item.done", output_index: 0, item } },
        { event: "response.completed", data: { type: "response.completed", response: responseShell([item]) } },
      ],
    });
    const stream = await client().responses.create({ model: MODEL, input: "Tell me a story", stream: true });
    let shown = "";
    const failure = await (async () => {
      for await (const event of stream) shown += JSON.stringify(event);
      return null;
    })().catch((error: unknown) => error);
    expect((failure as APIError | null)?.code).toBe("content_filter");
    expect(shown).not.toContain("[[cs:");
    expect(shown).not.toContain("response.completed");
  });
});
