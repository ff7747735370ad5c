import { randomUUID } from "node:crypto";
import { type ServerResponse } from "node:http";
import { annotateResponse, contentFilterIn, sendPromptFiltered } from "./contentFilter.js";
import { type MockFault } from "./faults.js";
import { sendEventData, sleep } from "./mockHttp.js";
import { scriptedAnswerIn, scriptedDeltas, scriptedFinishReason, scriptedMessage } from "./toolCalls.js";

interface MessageLike {
  readonly role?: unknown;
  readonly content?: unknown;
}

/** Who answers and how: shown in replies (`x-mock-endpoint`, `x-mock-region`) and the stream's pacing. */
export interface MockIdentity {
  readonly name: string;
  readonly region: string;
  readonly chunkDelayInMs: number;
}

export interface ChatCompletionCall {
  readonly body: Readonly<Record<string, unknown>>;
  readonly deployment: string | null;
  readonly echo: boolean;
  readonly fault: MockFault | null;
}

export function messagesOf(body: Readonly<Record<string, unknown>>): readonly MessageLike[] {
  return Array.isArray(body.messages) ? (body.messages as MessageLike[]) : [];
}

export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => (typeof part === "object" && part !== null && "text" in part && typeof part.text === "string" ? part.text : ""))
      .join(" ");
  }
  return "";
}

export const promptOf = (body: Readonly<Record<string, unknown>>): string => messagesOf(body).map((message) => textOf(message.content)).join("\n");

/** A rough, deterministic token count: good enough for usage figures from a mock. */
const roughTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

/**
 * Answers a chat completion once faults are applied: a content-filter directive, a scripted answer
 * (tool calls), or the canned (or echoed) text; plain or streamed, with usage.
 */
export function answerChatCompletion(response: ServerResponse, call: ChatCompletionCall, identity: MockIdentity): Promise<void> | void {
  const { body, deployment, fault } = call;
  const messages = messagesOf(body);
  const prompt = promptOf(body);
  const filter = contentFilterIn(prompt);
  if (filter?.refusePrompt) return sendPromptFiltered(response, filter.refusePrompt);
  if (filter?.annotate) annotateResponse(response, filter);

  const lastUser = [...messages].reverse().find((message) => message.role === "user");
  const reply = call.echo ? textOf(lastUser?.content) : `This is a mock completion from ${identity.name} (${identity.region}).`;
  const model = typeof body.model === "string" ? body.model : (deployment ?? "mock-model");
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: roughTokens(prompt), completion_tokens: roughTokens(reply), total_tokens: roughTokens(prompt) + roughTokens(reply), prompt_tokens_details: { cached_tokens: 0 } };
  const served = { "x-mock-endpoint": identity.name, "x-mock-region": identity.region };
  const chunk = (delta: unknown, finishReason: string | null) => ({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] });
  const endStream = (finishReason: string): void => {
    sendEventData(response, chunk({}, finishReason));
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) sendEventData(response, { id, object: "chat.completion.chunk", created, model, choices: [], usage });
    response.end("data: [DONE]\n\n");
  };
  const startStream = (): void => void response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...served });
  const answerPlain = (message: unknown, finishReason: string): void => {
    response.writeHead(200, { "content-type": "application/json", ...served });
    response.end(JSON.stringify({ id, object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }], usage }));
  };

  const scripted = scriptedAnswerIn(prompt);
  if (scripted && body.stream === true) {
    return (async () => {
      startStream();
      for (const delta of scriptedDeltas(scripted)) {
        if (identity.chunkDelayInMs > 0) await sleep(identity.chunkDelayInMs);
        sendEventData(response, chunk(delta, null));
      }
      endStream(scriptedFinishReason(scripted));
    })();
  }
  if (scripted) return answerPlain(scriptedMessage(scripted), scriptedFinishReason(scripted));
  if (body.stream !== true) return answerPlain({ role: "assistant", content: reply, refusal: null }, "stop");

  return (async () => {
    startStream();
    const words = reply.match(/\S+\s*/g) ?? [reply];
    sendEventData(response, chunk({ role: "assistant", content: "" }, null));
    for (const [index, word] of words.entries()) {
      if (fault?.truncateAfterChunks !== undefined && index >= fault.truncateAfterChunks) {
        response.socket?.destroy();
        return;
      }
      if (identity.chunkDelayInMs > 0) await sleep(identity.chunkDelayInMs);
      sendEventData(response, chunk({ content: word }, null));
    }
    endStream("stop");
  })();
}
