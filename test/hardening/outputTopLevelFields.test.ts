import OpenAI, { APIError, AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf } from "./failureOf.js";
import { CARD, CARD_TRACE, HARM, MODEL, type OutputStack, startOutputStack } from "./outputStack.js";
import { scriptedResponse } from "./scriptedUpstream.js";

/**
 * Outside testing (session 13): output DLP and content safety read a chat answer's choices, and
 * nothing beside them. A provider's top-level field (Perplexity's `citations` and `search_results`,
 * one added later) went to the client unread, plain and in every streamed chunk, and so did a
 * Response's beside its output (xAI's `citations`); Azure On Your
 * Data's `context` was redacted but never screened. The real `openai` client (and `AzureOpenAI`),
 * the scripted upstream, the Content Safety emulator (harm comes from `[[cs:violence=6]]` directives).
 */

let stack: OutputStack;
beforeAll(async () => void (stack = await startOutputStack()), 60_000);
afterAll(() => stack?.stop());

const client = (apiKey: string): OpenAI => new OpenAI({ baseURL: stack.gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000 });
const azure = (apiKey: string): AzureOpenAI => new AzureOpenAI({ endpoint: stack.gateway.host.url, apiKey, deployment: MODEL, apiVersion: "2024-10-21", maxRetries: 0, timeout: 15_000 });

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1, model: MODEL, ...extra, choices });
const chatAnswer = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-scripted",
  object: "chat.completion",
  created: 1,
  model: MODEL,
  system_fingerprint: "fp_scripted",
  ...extra,
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
});
const usageChunk = { ...chunk([]), usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 } };

/** Perplexity-style search results beside the answer, one of them quoting the card (or the harm). */
const searchFields = (text: string) => ({
  citations: ["https://example.com/billing", "https://example.com/help"],
  search_results: [{ title: "Billing help", url: "https://example.com/billing", date: "2026-11-02", snippet: `Pay with ${text} today.` }],
});

/** Everything a stream showed its client, its answer's content, and the error it ended with (null: it ended well). */
async function drain(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<{ shown: string; content: string; failure: APIError | null }> {
  let shown = "";
  let content = "";
  try {
    for await (const part of stream) {
      shown += JSON.stringify(part);
      content += part.choices[0]?.delta.content ?? "";
    }
    return { shown, content, failure: null };
  } catch (error) {
    expect(error).toBeInstanceOf(APIError);
    return { shown, content, failure: error as APIError };
  }
}

/** Everything a Responses stream showed its client, and the error it ended with (null: it ended well). */
async function drainResponses(stream: AsyncIterable<unknown>): Promise<{ shown: string; failure: APIError | null }> {
  let shown = "";
  const failure = await (async () => {
    for await (const event of stream) shown += JSON.stringify(event);
    return null;
  })().catch((error: unknown) => {
    expect(error).toBeInstanceOf(APIError);
    return error as APIError;
  });
  return { shown, failure };
}

/** A chat stream: a first delta (with `first`), the content (with `extra` at its chunk's top level), the finish and usage chunks. */
const chatStream = (first: Record<string, unknown>, content: string, extra: Record<string, unknown> = {}) => ({
  events: [
    { data: chunk([{ index: 0, delta: { role: "assistant", content: "", ...first }, finish_reason: null }]) },
    { data: chunk([{ index: 0, delta: { content }, finish_reason: null }], extra) },
    { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
    { data: usageChunk },
  ],
});

/** Content safety stopped the stream before any of its text, or the harm, reached the client. */
async function expectStoppedUnshown(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<void> {
  const { shown, content, failure } = await drain(stream);
  expect(failure?.code).toBe("content_filter");
  expect(shown).not.toContain("[[cs:");
  expect(content).toBe("");
}

describe("chat: top-level fields beside choices are output", () => {
  it("plain: a card in search_results is redacted; metadata (id, model, system_fingerprint) and the URLs are kept", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ content: "See the billing page." }, searchFields(CARD)) });
    const answer = await client(stack.redactKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "How do I pay?" }] });
    const fields = answer as unknown as { search_results: { snippet: string }[]; citations: string[] };
    expect(fields.search_results[0]?.snippet).toMatch(/^Pay with \[CREDIT_CARD_\d+\] today\.$/);
    expect(fields.citations).toEqual(["https://example.com/billing", "https://example.com/help"]);
    expect({ id: answer.id, model: answer.model, fingerprint: answer.system_fingerprint }).toEqual({ id: "chatcmpl-scripted", model: MODEL, fingerprint: "fp_scripted" });
    expect(JSON.stringify(answer)).not.toMatch(CARD_TRACE);
  });

  it("streamed: a card in search_results repeated in every chunk is redacted in each, the closing usage chunk included", async () => {
    const extra = searchFields(CARD);
    stack.upstream.answerNext({
      events: [
        { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], extra) },
        { data: chunk([{ index: 0, delta: { content: "See the billing page." }, finish_reason: null }], extra) },
        { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }], extra) },
        { data: { ...usageChunk, ...extra } },
      ],
    });
    const stream = await client(stack.redactKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "How do I pay?" }], stream: true, stream_options: { include_usage: true } });
    const { shown, content, failure } = await drain(stream);
    expect(failure).toBeNull();
    expect(content).toBe("See the billing page.");
    expect(shown).toMatch(/Pay with \[CREDIT_CARD_\d+\] today\./);
    expect(shown).toContain("https://example.com/help");
    expect(shown).not.toMatch(CARD_TRACE);
  });

  it("plain: a harmful text in a top-level field is refused (content_filter); the same answer without it is served", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ content: "See the billing page." }, searchFields(HARM)) });
    const refused = await failureOf(client(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "How do I pay?" }] }));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    stack.upstream.answerNext({ json: chatAnswer({ content: "See the billing page." }, searchFields("cash")) });
    const served = await client(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "How do I pay?" }] });
    expect((served as unknown as { search_results: { snippet: string }[] }).search_results[0]?.snippet).toBe("Pay with cash today.");
  });

  it("streamed: a harmful text in a top-level field stops the stream before the chunk that carries it", async () => {
    stack.upstream.answerNext(chatStream({}, "See the billing page.", searchFields(HARM)));
    await expectStoppedUnshown(await client(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "How do I pay?" }], stream: true }));
  });
});

describe("Azure On Your Data: `context` is screened as output (AzureOpenAI client)", () => {
  const context = (text: string) => ({
    citations: [{ content: `From the archive: ${text}.`, title: "Archive", url: null, filepath: "archive.md", chunk_id: "0" }],
    intent: '["archive story"]',
  });

  it("plain: a harmful citation is refused (content_filter); a calm one is served", async () => {
    stack.upstream.answerNext({ json: chatAnswer({ content: "See the archive [doc1].", context: context(HARM) }) });
    const refused = await failureOf(azure(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is in the archive?" }] }));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    stack.upstream.answerNext({ json: chatAnswer({ content: "See the archive [doc1].", context: context("a quiet garden") }) });
    const served = await azure(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is in the archive?" }] });
    expect(JSON.stringify(served)).toContain("From the archive: a quiet garden.");
  });

  it("streamed: a harmful citation in the first delta stops the stream before it is shown", async () => {
    stack.upstream.answerNext(chatStream({ context: context(HARM) }, "See the archive [doc1]."));
    await expectStoppedUnshown(await azure(stack.screenedKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is in the archive?" }], stream: true }));
  });

  it("all_retrieved_documents (include_contexts) is inspected by DLP like the citations, plain and streamed", async () => {
    const withDocuments = { ...context("the card is on file"), all_retrieved_documents: [{ content: `Customer card ${CARD}.`, title: "Customers", search_queries: ["card"], data_source_index: 0, filter_reason: "rerank" }] };
    stack.upstream.answerNext({ json: chatAnswer({ content: "See the record [doc1].", context: withDocuments }) });
    const plain = await azure(stack.redactKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Which card?" }] });
    expect(JSON.stringify(plain)).toMatch(/Customer card \[CREDIT_CARD_\d+\]\./);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);

    stack.upstream.answerNext(chatStream({ context: withDocuments }, "See the record [doc1]."));
    const { shown, failure } = await drain(await azure(stack.redactKey).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Which card?" }], stream: true }));
    expect(failure).toBeNull();
    expect(shown).toContain("archive.md");
    expect(shown).not.toMatch(CARD_TRACE);
  });
});

describe("Responses: top-level fields beside output are output", () => {
  const message = { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "See the billing page.", annotations: [] }] };
  /** xAI-style: every source the search saw, beside the answer. */
  const withCitations = (text: string) => ({ ...scriptedResponse(MODEL, [message]), instructions: null, metadata: {}, citations: ["https://example.com/billing", "https://example.com/help"], search_notes: [{ title: "Billing help", note: `Pay with ${text} today.` }] });
  const streamOf = (response: Record<string, unknown>) => ({
    events: [
      { event: "response.created", data: { type: "response.created", response: { ...response, status: "in_progress", output: [] } } },
      { event: "response.output_item.done", data: { type: "response.output_item.done", output_index: 0, item: message } },
      { event: "response.completed", data: { type: "response.completed", response } },
    ],
  });

  it("plain and streamed: a card in a top-level field is redacted; the citations' URLs are kept", async () => {
    stack.upstream.answerNext({ json: withCitations(CARD) });
    const plain = await client(stack.redactKey).responses.create({ model: MODEL, input: "How do I pay?" });
    expect(JSON.stringify(plain)).toMatch(/\[CREDIT_CARD_\d+\]/);
    expect(JSON.stringify(plain)).not.toMatch(CARD_TRACE);
    expect(plain.output_text).toBe("See the billing page.");
    expect((plain as unknown as { citations: string[] }).citations).toEqual(["https://example.com/billing", "https://example.com/help"]);

    stack.upstream.answerNext(streamOf(withCitations(CARD)));
    const { shown, failure } = await drainResponses(await client(stack.redactKey).responses.create({ model: MODEL, input: "How do I pay?", stream: true }));
    expect(failure).toBeNull();
    expect(shown).toContain("response.completed");
    expect(shown).toMatch(/\[CREDIT_CARD_\d+\]/);
    expect(shown).not.toMatch(CARD_TRACE);
  });

  it("plain and streamed: a harmful text in a top-level field is refused (content_filter) before it is shown", async () => {
    stack.upstream.answerNext({ json: withCitations(HARM) });
    const refused = await failureOf(client(stack.screenedKey).responses.create({ model: MODEL, input: "How do I pay?" }));
    expect({ status: refused?.status, code: refused?.code }).toEqual({ status: 400, code: "content_filter" });

    stack.upstream.answerNext(streamOf(withCitations(HARM)));
    const { shown, failure } = await drainResponses(await client(stack.screenedKey).responses.create({ model: MODEL, input: "How do I pay?", stream: true }));
    expect(failure?.code).toBe("content_filter");
    expect(shown).not.toContain("[[cs:");
    expect(shown).not.toContain("response.completed");
  });

  it("streamed: an `error` event's text is screened like the rest (output DLP read it; content safety did not, and the SDK yields it)", async () => {
    stack.upstream.answerNext({
      events: [
        { event: "response.created", data: { type: "response.created", response: { ...scriptedResponse(MODEL, []), status: "in_progress" } } },
        { event: "error", data: { type: "error", code: "server_error", message: `The model said: ${HARM}`, param: null } },
      ],
    });
    const { shown, failure } = await drainResponses(await client(stack.screenedKey).responses.create({ model: MODEL, input: "How do I pay?", stream: true }));
    expect(failure?.code).toBe("content_filter");
    expect(shown).not.toContain("[[cs:");
  });
});
