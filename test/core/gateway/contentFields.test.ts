import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { refuseDirective, sayDirective, toolDirective } from "../../../local/mockOpenAi/toolCalls.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type GatewayResponse } from "../../../src/core/gateway/GatewayRequest.js";
import { type PolicyInput } from "../../../src/core/policy/schema.js";
import { type PipelineServer, servePipeline } from "../../support/pipelineServer.js";
import { type ProjectInput, collect, gatewayHarness, jsonResponse, payloadsOf, refusalOf } from "./gatewayHarness.js";

/**
 * Every field that carries content, one at a time, redact and block, plain and streamed, against the
 * mock upstream through the real `openai` SDK provider: what the mock RECEIVED and what the caller
 * gets must never hold the value (issue 17, tool-call governance).
 */
const CARD = "4111 1111 1111 1111";
const DASHED = "4111-1111-1111-1111";
const CARD_DIGITS = /4111[ -]?1111|1111[ -]?1111[ -]?1111/;

let mock: RunningMockOpenAi;
beforeAll(async () => {
  mock = await startMockOpenAi({ name: "mock-eu", region: "westeurope" });
});
afterAll(async () => mock.stop());
afterEach(() => mock.clearRequests());

const endpoints = (): PolicyInput["endpoints"] => [
  { id: "mock-eu", provider: "azure", baseUrl: mock.url, region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 },
];

const harness = (project: Partial<ProjectInput> = {}) =>
  gatewayHarness({ project: { cache: undefined, ...project }, policy: { endpoints: endpoints() }, cache: false, upstream: new OpenAiCompletionProvider({ credential: null, readApiKey: null }) });

/** One content-bearing field of a chat request, with the sensitive value in it and nowhere else. */
interface InputField {
  readonly name: string;
  readonly body: Record<string, unknown>;
  /** The field as the mock received it. */
  readonly read: (body: Record<string, unknown>) => unknown;
}

const at = (value: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], value);
const history = (assistant: Record<string, unknown>, ...after: Record<string, unknown>[]) => [{ role: "user", content: "hi" }, { role: "assistant", content: null, ...assistant }, ...after, { role: "user", content: "go on" }];
const toolFunction = (fn: Record<string, unknown>) => [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} }, ...fn } }];

const INPUT_FIELDS: readonly InputField[] = [
  { name: "message text", body: { messages: [{ role: "user", content: `card ${CARD}` }] }, read: (b) => at(b, "messages", 0, "content") },
  { name: "a text part", body: { messages: [{ role: "user", content: [{ type: "text", text: `card ${CARD}` }] }] }, read: (b) => at(b, "messages", 0, "content", 0, "text") },
  {
    name: "a tool result (role tool)",
    body: { messages: history({ tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "{}" } }] }, { role: "tool", tool_call_id: "c1", content: `{"card":"${CARD}"}` }) },
    read: (b) => at(b, "messages", 2, "content"),
  },
  {
    name: "tool-call arguments in assistant history",
    body: { messages: history({ tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: `{"card":"${CARD}"}` } }] }, { role: "tool", tool_call_id: "c1", content: "ok" }) },
    read: (b) => at(b, "messages", 1, "tool_calls", 0, "function", "arguments"),
  },
  {
    name: "a tool-call name in assistant history",
    body: { messages: history({ tool_calls: [{ id: "c1", type: "function", function: { name: `pay_${DASHED}`, arguments: "{}" } }] }, { role: "tool", tool_call_id: "c1", content: "ok" }) },
    read: (b) => at(b, "messages", 1, "tool_calls", 0, "function", "name"),
  },
  { name: "legacy function_call arguments", body: { messages: history({ function_call: { name: "lookup", arguments: `{"card":"${CARD}"}` } }) }, read: (b) => at(b, "messages", 1, "function_call", "arguments") },
  { name: "an assistant refusal in history", body: { messages: history({ content: "no", refusal: `not with ${CARD}` }) }, read: (b) => at(b, "messages", 1, "refusal") },
  { name: "a message name", body: { messages: [{ role: "user", name: DASHED, content: "hello" }] }, read: (b) => at(b, "messages", 0, "name") },
  { name: "a tool description", body: { messages: [{ role: "user", content: "hi" }], tools: toolFunction({ description: `charges ${CARD}` }) }, read: (b) => at(b, "tools", 0, "function", "description") },
  {
    name: "a parameter-schema description, nested",
    body: { messages: [{ role: "user", content: "hi" }], tools: toolFunction({ parameters: { type: "object", properties: { card: { type: "object", properties: { n: { type: "string", description: `like ${CARD}` } } } } } }) },
    read: (b) => at(b, "tools", 0, "function", "parameters", "properties", "card", "properties", "n", "description"),
  },
  { name: "a tool name", body: { messages: [{ role: "user", content: "hi" }], tools: toolFunction({ name: `pay_${DASHED}` }) }, read: (b) => at(b, "tools", 0, "function", "name") },
  { name: "a legacy function description", body: { messages: [{ role: "user", content: "hi" }], functions: [{ name: "lookup", description: `charges ${CARD}`, parameters: {} }] }, read: (b) => at(b, "functions", 0, "description") },
  {
    name: "a response-format schema description",
    body: { messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object", description: `like ${CARD}` } } } },
    read: (b) => at(b, "response_format", "json_schema", "schema", "description"),
  },
];

describe("input: every content-bearing field is inspected before it reaches the upstream", () => {
  for (const field of INPUT_FIELDS) {
    for (const stream of [false, true]) {
      it(`redact: ${field.name}${stream ? " (streamed)" : ""}`, async () => {
        const h = await harness();
        const response = await h.service.handle(h.request({ extraBody: { ...field.body, stream } }));
        if (response.kind === "stream") await collect(response.events);
        const received = mock.requests().at(-1)?.body;
        expect(received).toBeDefined();
        expect(JSON.stringify(received)).not.toMatch(CARD_DIGITS);
        expect(String(field.read(received ?? {}))).toMatch(/CREDIT_CARD_1/);
      });
    }
    it(`block: ${field.name}`, async () => {
      const h = await harness({ dlp: { input: { public: "block", internal: "block", confidential: "block", pii: "block", phi: "block" } } });
      const error = await refusalOf(h.service.handle(h.request({ extraBody: field.body })));
      expect([error.status, error.code]).toEqual([422, "sensitive_data_detected"]);
      expect(mock.requests()).toHaveLength(0);
    });
  }

  it("passes ungoverned parameters through unchanged", async () => {
    const h = await harness();
    const passed = { seed: 7, n: 2, logprobs: true, top_logprobs: 2, metadata: { team: "a" }, parallel_tool_calls: false, tool_choice: "auto", tools: toolFunction({ description: "weather" }) };
    await h.service.handle(h.request({ extraBody: passed }));
    expect(mock.requests().at(-1)?.body).toMatchObject(passed);
  });
});

const b64 = (text: string): string => Buffer.from(text).toString("base64url");
const OUTPUT_FIELDS = [
  { name: "content", directive: sayDirective(`your card is ${CARD}, ok`) },
  { name: "refusal", directive: refuseDirective(`I will not use ${CARD} here`) },
  { name: "tool-call arguments", directive: toolDirective("pay", JSON.stringify({ card: CARD, amount: 3 })) },
] as const;

const streamOf = (response: GatewayResponse): AsyncIterable<string> => {
  if (response.kind !== "stream") throw new Error(`expected a stream, got ${response.kind}`);
  return response.events;
};

describe("output: content, refusal and tool-call arguments are inspected in every answer", () => {
  for (const field of OUTPUT_FIELDS) {
    it(`redact, plain: ${field.name}`, async () => {
      const h = await harness();
      const body = jsonResponse(await h.service.handle(h.request({ content: `do it ${field.directive}` }))).body;
      expect(b64(CARD)).not.toBe(CARD);
      expect(JSON.stringify(body)).not.toMatch(CARD_DIGITS);
      expect(JSON.stringify(body)).toContain("[CREDIT_CARD_1]");
      expect(h.audit.events.find((event) => event.type === "api_call")?.dlpFindings).toEqual({ "output.CREDIT_CARD": 1 });
    });

    it(`block, plain: ${field.name}`, async () => {
      const h = await harness({ dlp: { output: "block" } });
      const error = await refusalOf(h.service.handle(h.request({ content: `do it ${field.directive}` })));
      expect([error.status, error.code]).toEqual([422, "sensitive_data_detected"]);
      expect(h.audit.events.find((event) => event.type === "api_call")).toMatchObject({ status: "blocked", reason: "sensitive_data_detected" });
    });

    it(`redact, streamed in fragments: ${field.name}`, async () => {
      const h = await harness();
      const frames = await collect(streamOf(await h.service.handle(h.request({ content: `do it ${field.directive}`, extraBody: { stream: true } }))));
      expect(frames.join("")).not.toMatch(CARD_DIGITS);
      expect(frames.at(-1)).toBe("data: [DONE]\n\n");
      const text = payloadsOf(frames)
        .flatMap((payload) => (payload.choices as { delta: { content?: string | null; refusal?: string | null; tool_calls?: { function?: { arguments?: string } }[] } }[]) ?? [])
        .map((choice) => `${choice.delta.content ?? ""}${choice.delta.refusal ?? ""}${(choice.delta.tool_calls ?? []).map((call) => call.function?.arguments ?? "").join("")}`)
        .join("");
      expect(text).toContain("[CREDIT_CARD_1]");
    });

    it(`block, streamed: ${field.name} ends with an OpenAI error frame`, async () => {
      const h = await harness({ dlp: { output: "block" } });
      const frames = await collect(streamOf(await h.service.handle(h.request({ content: `do it ${field.directive}`, extraBody: { stream: true } }))));
      expect(frames.join("")).not.toMatch(CARD_DIGITS);
      expect(frames).not.toContain("data: [DONE]\n\n");
      expect(payloadsOf(frames).at(-1)).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", code: "sensitive_data_detected", param: null } });
    });
  }
});

describe("the openai SDK's stream helpers over a governed stream", () => {
  let server: PipelineServer;
  let h: Awaited<ReturnType<typeof harness>>;
  beforeAll(async () => {
    h = await harness();
    server = await servePipeline(
      (input) => h.service.handle(input),
      (body, authorization) => ({ ...h.request(), body, authorization }),
    );
  });
  afterAll(async () => server.stop());

  it("accumulates redacted tool calls from fragments into a valid final completion", async () => {
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: h.keys.app, maxRetries: 0 });
    const args = JSON.stringify({ card: CARD, amount: 3 });
    const final = await client.chat.completions
      .stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: `go ${toolDirective("pay", args)} ${toolDirective("note", '{"x":1}')}` }] })
      .finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === "function" ? call.function.name : ""))).toEqual(["pay", "note"]);
    const first = calls[0];
    const parsed = JSON.parse(first?.type === "function" ? first.function.arguments : "{}") as Record<string, unknown>;
    expect(parsed).toEqual({ card: "[CREDIT_CARD_1]", amount: 3 });
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });
});
