import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf } from "./failureOf.js";
import { CARD, CARD_TRACE, HARM, MODEL, type OutputStack, startOutputStack } from "./outputStack.js";
import { scriptedResponse } from "./scriptedUpstream.js";

/**
 * Outside testing (session 14): what a chat choice carries beside its `message` or `delta`, and the
 * shapes of known fields that are not the string Palisade expected. vLLM's `stop_reason`, SGLang's
 * `matched_stop`, a provider's own choice field; log probabilities that cover the reasoning tokens
 * too (vLLM) or come in the legacy completions shape; Mistral's content as a list of parts (its
 * `thinking` among them); tool call arguments sent as an object; a Responses text part's logprobs
 * repeated in `content_part.done`. The real `openai` client, the scripted upstream, the Content
 * Safety emulator (harm comes from `[[cs:violence=6]]` directives).
 */

let stack: OutputStack;
beforeAll(async () => void (stack = await startOutputStack()), 60_000);
afterAll(() => stack?.stop());

const client = (apiKey: string): OpenAI => new OpenAI({ baseURL: stack.gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000 });
const ask = { model: MODEL, messages: [{ role: "user" as const, content: "How do I pay?" }] };

const chunk = (choices: unknown[]) => ({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1, model: MODEL, choices });
const usageChunk = { ...chunk([]), usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } };
const chatAnswer = (choice: Record<string, unknown>) => ({
  id: "chatcmpl-scripted",
  object: "chat.completion",
  created: 1,
  model: MODEL,
  choices: [{ index: 0, finish_reason: "stop", ...choice }],
  usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
});

/** Everything a stream showed its client, and the error it ended with (null: it ended well). */
async function drain(stream: AsyncIterable<unknown>): Promise<{ shown: unknown[]; failure: APIError | null }> {
  const shown: unknown[] = [];
  try {
    for await (const part of stream) shown.push(part);
    return { shown, failure: null };
  } catch (error) {
    expect(error).toBeInstanceOf(APIError);
    return { shown, failure: error as APIError };
  }
}

/** OpenAI's token log probabilities for these tokens (each with one alternative). */
function logprobsOf(tokens: readonly string[]): unknown[] {
  const entry = (token: string) => ({ token, logprob: -0.01, bytes: [...Buffer.from(token, "utf8")] });
  return tokens.map((token) => ({ ...entry(token), top_logprobs: [entry(token)] }));
}
const CARD_TOKENS = ["Your", " card", " is", " 4111", " 1111", " 1111", " 1111", "."];

describe("chat: a choice's fields beside message and delta", () => {
  it("plain: a card in vLLM's stop_reason, SGLang's matched_stop and a provider's own choice field is redacted; index, finish_reason and Azure's content_filter_results are kept", async () => {
    const filter = { hate: { filtered: false, severity: "safe" } };
    stack.upstream.answerNext({
      json: chatAnswer({ message: { role: "assistant", content: "See the billing page." }, stop_reason: `card ${CARD}`, matched_stop: CARD, provider_notes: [{ text: `Paid with ${CARD}.` }], content_filter_results: filter }),
    });
    const answer = await client(stack.redactKey).chat.completions.create(ask);
    const choice = answer.choices[0] as unknown as Record<string, unknown>;
    expect(choice.stop_reason).toMatch(/^card \[CREDIT_CARD_\d+\]$/);
    expect(choice.matched_stop).toMatch(/^\[CREDIT_CARD_\d+\]$/);
    expect({ index: choice.index, finish: choice.finish_reason, filter: choice.content_filter_results }).toEqual({ index: 0, finish: "stop", filter });
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: a choice field in the finishing chunk, and one whose text is split over two chunks, carry no card", async () => {
    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: "See the billing page." }, text: "Paid with 4111 1111 ", finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, text: "1111 1111 today.", finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop", stop_reason: `card ${CARD}` }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.redactKey).chat.completions.create({ ...ask, stream: true }));
    expect(failure).toBeNull();
    const choices = shown.flatMap((part) => (part as { choices: Record<string, unknown>[] }).choices);
    expect(choices.map((choice) => (typeof choice.text === "string" ? choice.text : "")).join("")).toMatch(/^Paid with \[CREDIT_CARD_\d+\] today\.$/);
    expect(choices.find((choice) => choice.finish_reason === "stop")?.stop_reason).toMatch(/^card \[CREDIT_CARD_\d+\]$/);
    expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
  });

  it("plain and streamed: a harmful text in a choice field is refused (content_filter) before it is shown; a calm one is served", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: "See the billing page." }, stop_reason: HARM }) });
    const refused = await failureOf(client(stack.screenedKey).chat.completions.create(ask));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: "See the billing page." }, stop_reason: "a quiet garden" }) });
    const served = await client(stack.screenedKey).chat.completions.create(ask);
    expect((served.choices[0] as unknown as { stop_reason: string }).stop_reason).toBe("a quiet garden");

    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: "See the billing page." }, provider_note: HARM, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.screenedKey).chat.completions.create({ ...ask, stream: true }));
    expect(failure?.code).toBe("content_filter");
    expect(JSON.stringify(shown)).not.toContain("[[cs:");
  });
});

describe("chat: log probabilities spell every token the model wrote", () => {
  const reasoningTokens = ["The", " card", " is", " 4111", " 1111", " 1111", " 1111", ",", " do", " not", " repeat", " it", "."];
  const reasoning = reasoningTokens.join("");
  const answerTokens = ["I", " cannot", " say", "."];

  it("plain: vLLM's logprobs cover the reasoning tokens too: a card redacted in reasoning_content does not come back in them", async () => {
    stack.upstream.answerNext({
      json: chatAnswer({ message: { role: "assistant", content: answerTokens.join(""), reasoning_content: reasoning }, logprobs: { content: logprobsOf([...reasoningTokens, ...answerTokens]) } }),
    });
    const answer = await client(stack.redactKey).chat.completions.create({ ...ask, logprobs: true, top_logprobs: 1 });
    expect((answer.choices[0]?.message as unknown as { reasoning_content: string }).reasoning_content).toMatch(/^The card is \[CREDIT_CARD_\d+\], do not repeat it\.$/);
    expect(answer.choices[0]?.message.content).toBe("I cannot say.");
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: the same, reasoning tokens and their logprobs one chunk each", async () => {
    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]) },
        ...reasoningTokens.map((token) => ({ data: chunk([{ index: 0, delta: { reasoning_content: token }, logprobs: { content: logprobsOf([token]) }, finish_reason: null }]) })),
        ...answerTokens.map((token) => ({ data: chunk([{ index: 0, delta: { content: token }, logprobs: { content: logprobsOf([token]) }, finish_reason: null }]) })),
        { data: chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.redactKey).chat.completions.create({ ...ask, logprobs: true, top_logprobs: 1, stream: true }));
    expect(failure).toBeNull();
    expect(JSON.stringify(shown)).toMatch(/\[CREDIT_CARD_\d+\]/);
    expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
  });

  it("plain: logprobs in the legacy completions shape (tokens, top_logprobs as maps) do not spell a redacted card", async () => {
    stack.upstream.answerNext({
      json: chatAnswer({
        message: { role: "assistant", content: CARD_TOKENS.join("") },
        logprobs: { tokens: CARD_TOKENS, token_logprobs: CARD_TOKENS.map(() => -0.01), top_logprobs: CARD_TOKENS.map((token) => ({ [token]: -0.01 })), text_offset: CARD_TOKENS.map((_, at) => at) },
      }),
    });
    const answer = await client(stack.redactKey).chat.completions.create({ ...ask, logprobs: true, top_logprobs: 1 });
    expect(answer.choices[0]?.message.content).toMatch(/^Your card is \[CREDIT_CARD_\d+\]\.$/);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("an answer with nothing to redact keeps its logprobs, the legacy shape too", async () => {
    const tokens = ["The", " sky", " is", " blue", "."];
    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: tokens.join(""), reasoning_content: "Blue, as always." }, logprobs: { content: logprobsOf(tokens), tokens } }) });
    const answer = await client(stack.redactKey).chat.completions.create({ ...ask, logprobs: true, top_logprobs: 1 });
    expect(answer.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(tokens);
    expect((answer.choices[0]?.logprobs as unknown as { tokens: string[] }).tokens).toEqual(tokens);
  });
});

describe("chat: known fields in shapes other than a string", () => {
  /** Mistral's Magistral: content as a list of parts, its reasoning in a `thinking` part. */
  const mistralContent = (thinking: string, text: string) => [
    { type: "thinking", thinking: [{ type: "text", text: thinking }] },
    { type: "text", text },
  ];

  it("plain: a card in content given as a list of parts (Mistral's thinking and text parts) is redacted", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: mistralContent(`The card is ${CARD}.`, `Your card ${CARD} is on file.`) } }) });
    const answer = await client(stack.redactKey).chat.completions.create(ask);
    const text = JSON.stringify(answer.choices[0]?.message.content);
    expect(text).toMatch(/Your card \[CREDIT_CARD_\d+\] is on file\./);
    expect(text).toContain("thinking");
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: content parts in the deltas carry no card", async () => {
    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: [{ type: "thinking", thinking: [{ type: "text", text: `The card is ${CARD}.` }] }] }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: { content: "Your card is on file." }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.redactKey).chat.completions.create({ ...ask, stream: true }));
    expect(failure).toBeNull();
    expect(JSON.stringify(shown)).toMatch(/The card is \[CREDIT_CARD_\d+\]\./);
    expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
  });

  it("plain and streamed: a harmful text in content parts is refused (content_filter) before it is shown", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: mistralContent(HARM, "Done.") } }) });
    const refused = await failureOf(client(stack.screenedKey).chat.completions.create(ask));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: mistralContent(HARM, "Done.") }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.screenedKey).chat.completions.create({ ...ask, stream: true }));
    expect(failure?.code).toBe("content_filter");
    expect(JSON.stringify(shown)).not.toContain("[[cs:");
  });

  it("plain and streamed: tool call arguments sent as an object (not a JSON string) are redacted", async () => {
    const call = { id: "call_1", type: "function", function: { name: "charge", arguments: { card: CARD, amount: 12 } } };
    stack.upstream.answerNext({ json: chatAnswer({ message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "tool_calls" }) });
    const answer = await client(stack.redactKey).chat.completions.create(ask);
    expect(JSON.stringify(answer.choices[0]?.message.tool_calls)).toMatch(/"card":"\[CREDIT_CARD_\d+\]","amount":12/);
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);

    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, ...call }] }, finish_reason: null }]) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "tool_calls" }]) },
        { data: usageChunk },
      ],
    });
    const { shown, failure } = await drain(await client(stack.redactKey).chat.completions.create({ ...ask, stream: true }));
    expect(failure).toBeNull();
    expect(JSON.stringify(shown)).toMatch(/\[CREDIT_CARD_\d+\]/);
    expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
  });
});

describe("Responses: output_text logprobs wherever the text is repeated", () => {
  const text = CARD_TOKENS.join("");
  const at = { item_id: "msg_1", output_index: 0, content_index: 0 };

  it("streamed: content_part.done's part repeats the text's logprobs: none of them spell the redacted card", async () => {
    const part = { type: "output_text", text, annotations: [], logprobs: logprobsOf(CARD_TOKENS) };
    const message = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [part] };
    const events: { event: string; data: Record<string, unknown> }[] = [
      { event: "response.created", data: { response: { ...scriptedResponse(MODEL, []), status: "in_progress" } } },
      { event: "response.output_item.added", data: { output_index: 0, item: { ...message, status: "in_progress", content: [] } } },
      { event: "response.content_part.added", data: { ...at, part: { type: "output_text", text: "", annotations: [], logprobs: [] } } },
      ...CARD_TOKENS.map((delta) => ({ event: "response.output_text.delta", data: { ...at, delta, logprobs: logprobsOf([delta]) } })),
      { event: "response.output_text.done", data: { ...at, text, logprobs: logprobsOf(CARD_TOKENS) } },
      { event: "response.content_part.done", data: { ...at, part } },
      { event: "response.output_item.done", data: { output_index: 0, item: message } },
      { event: "response.completed", data: { response: scriptedResponse(MODEL, [message]) } },
    ];
    stack.upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
    const stream = await client(stack.redactKey).responses.create({ model: MODEL, input: "What is my card?", include: ["message.output_text.logprobs"], top_logprobs: 1, stream: true });
    const { shown, failure } = await drain(stream);
    expect(failure).toBeNull();
    expect((shown.at(-1) as { type: string }).type).toBe("response.completed");
    expect(JSON.stringify(shown)).toMatch(/\[CREDIT_CARD_\d+\]/);
    expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
  });
});

/** A Responses stream of these items, each whole in `output_item.done`, then `response.completed`: the redacting project's client sees the card redacted, and no trace of it. */
async function expectStreamedItemsRedacted(output: readonly Record<string, unknown>[]): Promise<void> {
  const events = [
    { event: "response.created", data: { response: { ...scriptedResponse(MODEL, []), status: "in_progress" } } },
    ...output.map((item, index) => ({ event: "response.output_item.done", data: { output_index: index, item } })),
    { event: "response.completed", data: { response: scriptedResponse(MODEL, [...output]) } },
  ];
  stack.upstream.answerNext({ events: events.map(({ event, data }, index) => ({ event, data: { type: event, sequence_number: index, ...data } })) });
  const { shown, failure } = await drain(await client(stack.redactKey).responses.create({ model: MODEL, input: "Which card?", stream: true }));
  expect(failure).toBeNull();
  expect(JSON.stringify(shown)).toMatch(/\[CREDIT_CARD_\d+\]/);
  expect(JSON.stringify(shown)).not.toMatch(CARD_TRACE);
}

describe("Responses: a message item whose content is not a list of parts", () => {
  /** Some OpenAI-compatible servers send an output message's content as one string, as input messages may be. */
  const stringMessage = (text: string) => ({ type: "message", id: "msg_1", role: "assistant", status: "completed", content: text });

  it("plain and streamed: a card in it is redacted (output_item.done and response.completed)", async () => {
    stack.upstream.answerNext({ json: scriptedResponse(MODEL, [stringMessage(`Your card ${CARD} is on file.`)]) });
    const plain = await client(stack.redactKey).responses.create({ model: MODEL, input: "Which card?" });
    expect(JSON.stringify(plain.output)).toMatch(/Your card \[CREDIT_CARD_\d+\] is on file\./);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);

    await expectStreamedItemsRedacted([stringMessage(`Your card ${CARD} is on file.`)]);
  });

  it("plain: a harmful text in it is refused (content_filter)", async () => {
    stack.upstream.answerNext({ json: scriptedResponse(MODEL, [stringMessage(HARM)]) });
    const refused = await failureOf(client(stack.screenedKey).responses.create({ model: MODEL, input: "Tell me a story." }));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });
  });
});

describe("Responses: fields and parts of known items without a rule of their own", () => {
  /** A message with a provider's own field beside its parts, a reasoning item with a part of a type without a rule, a function call with object arguments and a field of its own. */
  const items = (text: string) => [
    { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "text", text: `Thinking: ${text}.` }] },
    { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Done.", annotations: [] }], reasoning_content: `Noted ${text}.` },
    { type: "function_call", id: "fc_1", call_id: "call_1", name: "charge", arguments: { card: text }, status: "completed", note: `for ${text}` },
  ];

  it("plain and streamed: a card in any of them is redacted", async () => {
    stack.upstream.answerNext({ json: scriptedResponse(MODEL, items(CARD)) });
    const plain = await client(stack.redactKey).responses.create({ model: MODEL, input: "Which card?" });
    expect(JSON.stringify(plain.output).match(/\[CREDIT_CARD_\d+\]/g)).toHaveLength(4);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);
    expect(plain.output_text).toBe("Done.");

    await expectStreamedItemsRedacted(items(CARD));
  });

  it("plain: a harmful text in a reasoning part without a rule, or in a message's own field, is refused (content_filter)", async () => {
    for (const output of [[items("x")[0], { ...items("x")[1], reasoning_content: HARM }], [{ ...items("x")[0], content: [{ type: "text", text: "calm", note: HARM }] }]]) {
      stack.upstream.answerNext({ json: scriptedResponse(MODEL, output) });
      const refused = await failureOf(client(stack.screenedKey).responses.create({ model: MODEL, input: "Tell me a story." }));
      expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });
    }
  });
});
