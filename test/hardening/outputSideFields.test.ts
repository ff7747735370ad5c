import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { oneEndpoint } from "./hardeningPolicy.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type ScriptedUpstream, scriptedResponse, startScriptedUpstream } from "./scriptedUpstream.js";

/**
 * Outside testing: a value output DLP redacts in `content` must not come back through any other
 * field a model answers with (token log probabilities, reasoning summaries, a second choice streamed
 * interleaved), and sensitive input must not reach the model or the provider's storage through fields
 * the request passes through (`prediction`, `metadata`, `store`, an audio answer). The upstream answers exactly what each test scripts (scriptedUpstream.ts);
 * the client is the real `openai` SDK.
 */

const MODEL = "gpt-4o-mini";
const CARD = "4111 1111 1111 1111";
/** Any trace of the card's digits in what the client got (a token, bytes decoded, a summary). */
const CARD_TRACE = /4111|1111/;

let upstream: ScriptedUpstream;
let gateway: GatewayStack<"unused">;
let appKey: string;
let strictKey: string;

function policy(): PolicyInput {
  const models = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, maxTokens: 512, auditOnPublishFailure: "outbox" },
      {
        id: "strict",
        residency: "eu",
        models,
        maxTokens: 512,
        auditOnPublishFailure: "outbox",
        dlp: { input: { public: "block", internal: "block", confidential: "block", pii: "block", phi: "block" } },
      },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "responses.create"] },
      { id: "strict-app", project: "strict", permissions: ["chat.completions", "responses.create"] },
    ],
    endpoints: [oneEndpoint("scripted", upstream.url)],
  };
}

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy: policy });
  [appKey, strictKey] = await Promise.all([gateway.createKey("acme", "app"), gateway.createKey("strict", "strict-app")]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

const client = (apiKey: string): OpenAI => new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0 });

/** OpenAI's token log probabilities for a text split into the given tokens (each with one alternative). */
function logprobsOf(tokens: readonly string[]): { content: unknown[]; refusal: null } {
  const entry = (token: string) => ({ token, logprob: -0.01, bytes: [...Buffer.from(token, "utf8")] });
  return { content: tokens.map((token) => ({ ...entry(token), top_logprobs: [entry(token)] })), refusal: null };
}

/** The card split as a tokenizer would: a few digits a token. */
const CARD_TOKENS = ["Your", " card", " is", " 4111", " 1111", " 1111", " 1111", "."];
const CARD_TEXT = CARD_TOKENS.join("");

const chunk = (choices: unknown[]) => ({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1, model: MODEL, choices });
/** A whole chat answer with these choices, as the upstream sends it. */
const chatAnswer = (choices: unknown[]) => ({ id: "chatcmpl-scripted", object: "chat.completion", created: 1, model: MODEL, choices, usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } });
const usageChunk = { ...chunk([]), usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } };

describe("chat: fields beside content", () => {
  it("plain: the redacted card does not come back in logprobs (token, bytes, top_logprobs)", async () => {
    upstream.answerNext({
      json: chatAnswer([{ index: 0, message: { role: "assistant", content: CARD_TEXT, refusal: null }, logprobs: logprobsOf(CARD_TOKENS), finish_reason: "stop" }]),
    });
    const answer = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is my card?" }], logprobs: true, top_logprobs: 1 });
    expect(answer.choices[0]?.message.content).toMatch(/^Your card is \[CREDIT_CARD_\d+\]\.$/);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: the redacted card does not come back in the chunks' logprobs", async () => {
    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]) },
        ...CARD_TOKENS.map((token) => ({ data: chunk([{ index: 0, delta: { content: token }, logprobs: logprobsOf([token]), finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is my card?" }], logprobs: true, top_logprobs: 1, stream: true });
    let text = "";
    const received: unknown[] = [];
    for await (const part of stream) {
      received.push(part);
      text += part.choices[0]?.delta.content ?? "";
    }
    expect(text).toMatch(/^Your card is \[CREDIT_CARD_\d+\]\.$/);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("an answer with nothing to redact keeps its logprobs, plain and streamed (in the choice's last chunk)", async () => {
    const tokens = ["The", " sky", " is", " blue", "."];
    const plainAnswer = {
      id: "chatcmpl-scripted",
      object: "chat.completion",
      created: 1,
      model: MODEL,
      choices: [{ index: 0, message: { role: "assistant", content: tokens.join(""), refusal: null }, logprobs: logprobsOf(tokens), finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
    };
    upstream.answerNext({ json: plainAnswer });
    const plain = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Colour of the sky?" }], logprobs: true, top_logprobs: 1 });
    expect(plain.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(tokens);

    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]) },
        ...tokens.map((token) => ({ data: chunk([{ index: 0, delta: { content: token }, logprobs: logprobsOf([token]), finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = client(appKey).chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Colour of the sky?" }], logprobs: true, top_logprobs: 1 });
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe(tokens.join(""));
    expect(completion.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(tokens);
  });

  it("Azure On Your Data: a card in a citation's content or title (message.context, delta.context) is redacted, plain and streamed", async () => {
    const context = { citations: [{ content: `Customer record: card ${CARD}, expires 12/29.`, title: `Card ${CARD}`, url: null, filepath: "customers.md", chunk_id: "0" }], intent: '["card on file"]' };
    upstream.answerNext({
      json: {
        id: "chatcmpl-scripted",
        object: "chat.completion",
        created: 1,
        model: MODEL,
        choices: [{ index: 0, message: { role: "assistant", content: "See the record [doc1].", context }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      },
    });
    const plain = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Which card is on file?" }] });
    const citation = (plain.choices[0]?.message as unknown as { context?: { citations?: { content?: string; title?: string }[] } }).context?.citations?.[0];
    expect(citation?.content).toMatch(/^Customer record: card \[CREDIT_CARD_\d+\], expires 12\/29\.$/);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);

    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "", context }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: "See the record [doc1]." }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Which card is on file?" }], stream: true });
    const received: unknown[] = [];
    for await (const part of stream) received.push(part);
    expect(JSON.stringify(received)).toContain("customers.md");
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("streamed with n: 2, the choices' pieces interleaved: each choice's card is redacted", async () => {
    const pieces = ["Card ", "4111 ", "1111 ", "1111 ", "1111", " ok"];
    upstream.answerNext({
      events: [
        ...pieces.flatMap((piece) => [0, 1].map((index) => ({ data: chunk([{ index, delta: { content: piece }, finish_reason: null }]) }))),
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: chunk([{ index: 1, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Two answers" }], n: 2, stream: true });
    const texts = ["", ""];
    for await (const part of stream) for (const choice of part.choices) texts[choice.index] += choice.delta.content ?? "";
    for (const text of texts) expect(text).toMatch(/^Card \[CREDIT_CARD_\d+\] ok$/);
  });

  it("a card in `prediction` (Predicted Outputs: text the model is given) is inspected like a message", async () => {
    const prediction = { type: "content" as const, content: `const card = "${CARD}";` };
    const refusal = await client(strictKey)
      .chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Refactor this file." }], prediction })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refusal).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((refusal as InstanceType<typeof OpenAI.APIError>).code).toBe("sensitive_data_detected");
    expect(JSON.stringify((refusal as InstanceType<typeof OpenAI.APIError>).error)).not.toMatch(CARD_TRACE);

    // In a project that redacts input, the model gets the prediction redacted.
    const before = upstream.received().length;
    upstream.answerNext({ json: { id: "c", object: "chat.completion", created: 1, model: MODEL, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } } });
    await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Refactor this file." }], prediction: { type: "content", content: [{ type: "text", text: prediction.content }] } });
    const sent = upstream.received().slice(before);
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0])).not.toMatch(CARD_TRACE);
  });
});

const failureOf = async (promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof OpenAI.APIError)) throw new Error(`expected an APIError, got ${String(error)}`);
  return error;
};

describe("chat: what the answer cannot be inspected for, and what the provider would keep", () => {
  it("an audio answer (modalities: audio) is refused with 422 uninspectable_content where output DLP is on; nothing reaches the model", async () => {
    const before = upstream.received().length;
    const error = await failureOf(client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Read my card number aloud." }], modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" } }));
    expect([error.status, error.code, error.param]).toEqual([422, "uninspectable_content", "modalities"]);
    expect(upstream.received().length).toBe(before);
  });

  it("store: true (stored completions keep the conversation upstream) follows the project's responses.store (deny here): 403", async () => {
    const before = upstream.received().length;
    const error = await failureOf(client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Keep this." }], store: true }));
    expect([error.status, error.code, error.param]).toEqual([403, "response_storage_not_allowed", "store"]);
    expect(upstream.received().length).toBe(before);
  });

  it("a card in metadata (kept by the provider) is inspected: blocked in a blocking project, for chat and Responses", async () => {
    const before = upstream.received().length;
    const chat = await failureOf(client(strictKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hello" }], metadata: { note: CARD } }));
    expect([chat.status, chat.code]).toEqual([422, "sensitive_data_detected"]);
    const responses = await failureOf(client(strictKey).responses.create({ model: MODEL, input: "Hello", metadata: { note: CARD } }));
    expect([responses.status, responses.code]).toEqual([422, "sensitive_data_detected"]);
    expect(upstream.received().length).toBe(before);
  });
});

const responseShell = (output: unknown[]) => scriptedResponse(MODEL, output);
const SUMMARY = `The user's card is ${CARD}; I will not repeat it.`;
const reasoningItem = { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: SUMMARY }] };

describe("Responses API: fields beside output_text", () => {
  it("plain: a reasoning summary's card is redacted, as is an output_text's logprobs", async () => {
    const message = {
      type: "message",
      id: "msg_1",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: CARD_TEXT, annotations: [], logprobs: logprobsOf(CARD_TOKENS).content }],
    };
    upstream.answerNext({ json: responseShell([reasoningItem, message]) });
    const answer = await client(appKey).responses.create({ model: MODEL, input: "What is my card?", include: ["message.output_text.logprobs", "reasoning.encrypted_content"] });
    expect(answer.output_text).toMatch(/^Your card is \[CREDIT_CARD_\d+\]\.$/);
    const reasoning = answer.output.find((item) => item.type === "reasoning");
    expect(reasoning?.summary[0]?.text).toMatch(/^The user's card is \[CREDIT_CARD_\d+\]; I will not repeat it\.$/);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: reasoning summary deltas and their done events, and output_text deltas' logprobs, carry no card", async () => {
    const at = { item_id: "rs_1", output_index: 0, summary_index: 0 };
    const summaryPieces = SUMMARY.match(/.{1,6}/gs) ?? [];
    const msg = { item_id: "msg_1", output_index: 1, content_index: 0 };
    const completedMessage = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: CARD_TEXT, annotations: [], logprobs: [] }] };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...responseShell([]), status: "in_progress" } } },
      { event: "response.output_item.added", data: { output_index: 0, item: { type: "reasoning", id: "rs_1", summary: [] } } },
      { event: "response.reasoning_summary_part.added", data: { ...at, part: { type: "summary_text", text: "" } } },
      ...summaryPieces.map((delta) => ({ event: "response.reasoning_summary_text.delta", data: { ...at, delta } })),
      { event: "response.reasoning_summary_text.done", data: { ...at, text: SUMMARY } },
      { event: "response.reasoning_summary_part.done", data: { ...at, part: { type: "summary_text", text: SUMMARY } } },
      { event: "response.output_item.done", data: { output_index: 0, item: reasoningItem } },
      { event: "response.output_item.added", data: { output_index: 1, item: { ...completedMessage, status: "in_progress", content: [] } } },
      { event: "response.content_part.added", data: { ...msg, part: { type: "output_text", text: "", annotations: [] } } },
      ...CARD_TOKENS.map((delta) => ({ event: "response.output_text.delta", data: { ...msg, delta, logprobs: logprobsOf([delta]).content } })),
      { event: "response.output_text.done", data: { ...msg, text: CARD_TEXT, logprobs: logprobsOf(CARD_TOKENS).content } },
      { event: "response.content_part.done", data: { ...msg, part: { type: "output_text", text: CARD_TEXT, annotations: [] } } },
      { event: "response.output_item.done", data: { output_index: 1, item: completedMessage } },
      { event: "response.completed", data: { response: responseShell([reasoningItem, completedMessage]) } },
    ];
    upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = await client(appKey).responses.create({ model: MODEL, input: "What is my card?", include: ["message.output_text.logprobs"], stream: true });
    const received: { type: string }[] = [];
    let summary = "";
    for await (const event of stream) {
      received.push(event);
      if (event.type === "response.reasoning_summary_text.delta") summary += event.delta;
    }
    expect(received.at(-1)?.type).toBe("response.completed");
    expect(summary).toMatch(/^The user's card is \[CREDIT_CARD_\d+\]; I will not repeat it\.$/);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });
});

describe("Responses API: a custom tool's input (caller-run, free-form text)", () => {
  const INPUT = `charge ${CARD} now`;
  const call = { type: "custom_tool_call", id: "ctc_1", call_id: "call_1", name: "charge", input: INPUT, status: "completed" };

  it("streamed: custom_tool_call_input deltas and their done event carry no card (they passed through uninspected)", async () => {
    const at = { item_id: "ctc_1", output_index: 0 };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...responseShell([]), status: "in_progress" } } },
      { event: "response.output_item.added", data: { output_index: 0, item: { ...call, input: "", status: "in_progress" } } },
      ...(INPUT.match(/.{1,5}/gs) ?? []).map((delta) => ({ event: "response.custom_tool_call_input.delta", data: { ...at, delta } })),
      { event: "response.custom_tool_call_input.done", data: { ...at, input: INPUT } },
      { event: "response.output_item.done", data: { output_index: 0, item: call } },
      { event: "response.completed", data: { response: responseShell([call]) } },
    ];
    upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = await client(appKey).responses.create({ model: MODEL, input: "Charge it", tools: [{ type: "custom", name: "charge", description: "Charges a card" }], stream: true });
    const received: Record<string, unknown>[] = [];
    let streamedInput = "";
    for await (const event of stream) {
      const raw = event as unknown as Record<string, unknown>;
      received.push(raw);
      if (raw.type === "response.custom_tool_call_input.delta" && typeof raw.delta === "string") streamedInput += raw.delta;
    }
    expect(received.at(-1)?.type).toBe("response.completed");
    expect(streamedInput).toMatch(/^charge \[CREDIT_CARD_\d+\] now$/);
    expect(received.find((event) => event.type === "response.custom_tool_call_input.done")?.input).toBe(streamedInput);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });
});

describe("chat: custom tools (free-form input instead of JSON arguments)", () => {
  const INPUT = `charge ${CARD} now`;
  const customCall = (input: string) => ({ id: "call_1", type: "custom", custom: { name: "charge", input } });
  const tools = [{ type: "custom" as const, custom: { name: "charge", description: "Charges a card" } }];

  it("plain: a card in a custom tool call's input is redacted", async () => {
    upstream.answerNext({
      json: chatAnswer([{ index: 0, message: { role: "assistant", content: null, refusal: null, tool_calls: [customCall(INPUT)] }, finish_reason: "tool_calls" }]),
    });
    const answer = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Charge it" }], tools });
    const call = answer.choices[0]?.message.tool_calls?.[0] as unknown as { custom?: { input?: string } } | undefined;
    expect(call?.custom?.input).toMatch(/^charge \[CREDIT_CARD_\d+\] now$/);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: a custom tool call's input fragments carry no card, and add up to the redacted input", async () => {
    const pieces = INPUT.match(/.{1,4}/gs) ?? [];
    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "custom", custom: { name: "charge", input: "" } }] }, finish_reason: null }]) },
        ...pieces.map((input) => ({ data: chunk([{ index: 0, delta: { tool_calls: [{ index: 0, custom: { input } }] }, finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: {}, finish_reason: "tool_calls" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Charge it" }], tools, stream: true });
    const received: unknown[] = [];
    let input = "";
    for await (const part of stream) {
      received.push(part);
      for (const call of (part.choices[0]?.delta.tool_calls ?? []) as unknown as { custom?: { input?: string } }[]) input += call.custom?.input ?? "";
    }
    expect(input).toMatch(/^charge \[CREDIT_CARD_\d+\] now$/);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("a custom tool call sent back as history is accepted (it was a 400) and its input inspected", async () => {
    upstream.answerNext({ json: { id: "chatcmpl-scripted", object: "chat.completion", created: 1, model: MODEL, choices: [{ index: 0, message: { role: "assistant", content: "Done." }, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } } });
    const messages = [
      { role: "user", content: "Charge it" },
      { role: "assistant", content: null, tool_calls: [customCall(INPUT)] },
      { role: "tool", tool_call_id: "call_1", content: "charged" },
    ] as unknown as OpenAI.Chat.ChatCompletionMessageParam[];
    const answer = await client(appKey).chat.completions.create({ model: MODEL, messages, tools });
    expect(answer.choices[0]?.message.content).toBe("Done.");
    const sent = upstream.received().at(-1) as { messages: { tool_calls?: { custom?: { input?: string } }[] }[] };
    expect(sent.messages[1]?.tool_calls?.[0]?.custom?.input).toMatch(/^charge \[CREDIT_CARD_\d+\] now$/);
  });
});

describe("fields and items without a rule of their own (a provider's extra field, a hosted tool's results, a type added later)", () => {
  const CARD_REDACTED = /\[CREDIT_CARD_\d+\]/;

  it("chat, plain: a card in a message field Palisade has no rule for (reasoning_content, annotations) is redacted", async () => {
    upstream.answerNext({
      json: chatAnswer([
        {
          index: 0,
          message: {
            role: "assistant",
            content: "I cannot repeat it.",
            reasoning_content: `The user wrote ${CARD_TEXT}`,
            annotations: [{ type: "url_citation", url_citation: { url: "https://example.com", title: `Card ${CARD}`, start_index: 0, end_index: 1 } }],
          },
          finish_reason: "stop",
        },
      ]),
    });
    const answer = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is my card?" }] });
    const message = answer.choices[0]?.message as unknown as { reasoning_content: string; annotations: { url_citation: { title: string } }[] };
    expect(message.reasoning_content).toMatch(CARD_REDACTED);
    expect(message.annotations[0]?.url_citation.title).toMatch(CARD_REDACTED);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("chat, streamed: a card split over chunks of a delta field without a rule (reasoning_content) does not come through, and the field adds up to the redacted text", async () => {
    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        ...CARD_TOKENS.map((token) => ({ data: chunk([{ index: 0, delta: { reasoning_content: token }, finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: { content: "Done." }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is my card?" }], stream: true });
    let reasoning = "";
    const received: unknown[] = [];
    for await (const part of stream) {
      received.push(part);
      reasoning += (part.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "";
    }
    expect(reasoning).toMatch(/^Your card is \[CREDIT_CARD_\d+\]\.$/);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("chat, streamed: a chunk's choice that carries a whole message beside its delta (some OpenAI-compatible servers send one) has it redacted", async () => {
    upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: "Done." }, message: { role: "assistant", content: CARD_TEXT, reasoning_content: `It was ${CARD}` }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const stream = await client(appKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is my card?" }], stream: true });
    const received: unknown[] = [];
    for await (const part of stream) received.push(part);
    expect(JSON.stringify(received)).toMatch(CARD_REDACTED);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("Responses, plain: a hosted tool's output (mcp_call) and an item of an unknown type are inspected; an image generation's picture is left as it is", async () => {
    const picture = Buffer.from(`\x89PNG 4111111111111111`).toString("base64");
    upstream.answerNext({
      json: responseShell([
        { type: "mcp_call", id: "mcp_1", server_label: "crm", name: "lookup", arguments: `{"card":"${CARD}"}`, output: `Card on file: ${CARD}` },
        { type: "future_item", id: "fi_1", payload: { note: `card ${CARD}` } },
        { type: "image_generation_call", id: "ig_1", status: "completed", result: picture },
        { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Done.", annotations: [] }] },
      ]),
    });
    const answer = await client(appKey).responses.create({ model: MODEL, input: "Look up my card" });
    const items = answer.output as unknown as Record<string, unknown>[];
    expect(String(items[0]?.output)).toMatch(CARD_REDACTED);
    expect(String(items[0]?.arguments)).toMatch(CARD_REDACTED);
    expect((items[1]?.payload as { note: string }).note).toMatch(CARD_REDACTED);
    expect(items[2]?.result).toBe(picture);
    expect(JSON.stringify(items.slice(0, 2))).not.toMatch(CARD_TRACE);
  });

  it("Responses, streamed: an unknown item's strings are redacted in output_item.done and in response.completed", async () => {
    const item = { type: "file_search_call", id: "fs_1", status: "completed", queries: ["card"], results: [{ file_id: "file_1", text: `Customer card ${CARD}` }] };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...responseShell([]), status: "in_progress" } } },
      { event: "response.output_item.done", data: { output_index: 0, item } },
      { event: "response.completed", data: { response: responseShell([item]) } },
    ];
    upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = await client(appKey).responses.create({ model: MODEL, input: "Search my files", stream: true });
    const received: { type: string }[] = [];
    for await (const event of stream) received.push(event);
    expect(received.at(-1)?.type).toBe("response.completed");
    expect(JSON.stringify(received)).toMatch(CARD_REDACTED);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });

  it("Responses, streamed: an item that arrives whole in output_item.added (an MCP approval request: added and done, no deltas) and a part added with text are redacted there too", async () => {
    // Outside testing (session 12): `.added` events were passed unread, and an MCP approval request's arguments (the model's text) come whole in them.
    const approval = { type: "mcp_approval_request", id: "mcpr_1", server_label: "crm", name: "charge", arguments: `{"card":"${CARD}"}` };
    const msg = { item_id: "msg_1", output_index: 1, content_index: 0 };
    const message = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: `Card ${CARD}`, annotations: [] }] };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...responseShell([]), status: "in_progress" } } },
      { event: "response.output_item.added", data: { output_index: 0, item: approval } },
      { event: "response.output_item.done", data: { output_index: 0, item: approval } },
      { event: "response.output_item.added", data: { output_index: 1, item: { ...message, status: "in_progress", content: [] } } },
      { event: "response.content_part.added", data: { ...msg, part: { type: "output_text", text: `Card ${CARD}`, annotations: [] } } },
      { event: "response.output_text.done", data: { ...msg, text: `Card ${CARD}` } },
      { event: "response.content_part.done", data: { ...msg, part: { type: "output_text", text: `Card ${CARD}`, annotations: [] } } },
      { event: "response.output_item.done", data: { output_index: 1, item: message } },
      { event: "response.completed", data: { response: responseShell([approval, message]) } },
    ];
    upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = client(appKey).responses.stream({ model: MODEL, input: "Charge my card" });
    const received: { type: string }[] = [];
    for await (const event of stream) received.push(event);
    const final = await stream.finalResponse();
    expect(received.filter((event) => event.type === "response.output_item.added")).toHaveLength(2);
    expect(JSON.stringify(received)).toMatch(CARD_REDACTED);
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
    expect(JSON.stringify(final)).not.toMatch(CARD_TRACE);
  });

  it("Responses, plain and streamed: a card in an output_text part's annotations (a citation's title, a file's name) is redacted, as chat's annotations are", async () => {
    const annotations = [
      { type: "url_citation", url: "https://example.com/", title: `Card ${CARD}`, start_index: 0, end_index: 5 },
      { type: "file_citation", file_id: "file_1", filename: `card ${CARD}.pdf`, index: 0 },
    ];
    const message = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Found it.", annotations }] };
    upstream.answerNext({ json: responseShell([message]) });
    const plain = await client(appKey).responses.create({ model: MODEL, input: "Find my card" });
    expect(JSON.stringify(plain.output)).toMatch(CARD_REDACTED);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);

    const msg = { item_id: "msg_1", output_index: 0, content_index: 0 };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...responseShell([]), status: "in_progress" } } },
      { event: "response.output_item.added", data: { output_index: 0, item: { ...message, status: "in_progress", content: [] } } },
      { event: "response.content_part.added", data: { ...msg, part: { type: "output_text", text: "", annotations: [] } } },
      { event: "response.output_text.delta", data: { ...msg, delta: "Found it." } },
      { event: "response.output_text.done", data: { ...msg, text: "Found it." } },
      { event: "response.content_part.done", data: { ...msg, part: message.content[0] } },
      { event: "response.output_item.done", data: { output_index: 0, item: message } },
      { event: "response.completed", data: { response: responseShell([message]) } },
    ];
    upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = await client(appKey).responses.create({ model: MODEL, input: "Find my card", stream: true });
    const received: { type: string }[] = [];
    for await (const event of stream) received.push(event);
    expect(received.at(-1)?.type).toBe("response.completed");
    expect(JSON.stringify(received)).not.toMatch(CARD_TRACE);
  });
});
