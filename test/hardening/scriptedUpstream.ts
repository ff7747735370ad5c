import { type Server, createServer } from "node:http";
import { listenOn } from "../../local/listenOn.js";
import { readBody } from "../../local/mockOpenAi/mockHttp.js";

/** One answer: a JSON body, or server-sent events (`event` names them, as the Responses API does). */
export type ScriptedAnswer =
  | { readonly json: unknown }
  /** `delayInMs` between events: a slow stream, for tests that act while it is in flight. */
  | { readonly events: readonly { readonly event?: string; readonly data: unknown }[]; readonly delayInMs?: number };

export interface ScriptedUpstream {
  readonly url: string;
  /** The answer to the next request (any path); a request with no answer queued gets a 500. */
  answerNext(answer: ScriptedAnswer): void;
  /** The bodies received, in order. */
  received(): readonly Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * An upstream that answers exactly what the test scripts, field for field: for answers the mock
 * upstream cannot give (logprobs, reasoning summaries, audio transcripts, interleaved choices), so a
 * test can check what the gateway does with every field a real model may send.
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const queue: ScriptedAnswer[] = [];
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then(async (text) => {
      try {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        bodies.push({});
      }
      const answer = queue.shift();
      if (answer === undefined) {
        response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "nothing scripted", type: "api_error", code: null, param: null } }));
      } else if ("json" in answer) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer.json));
      } else {
        response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        for (const { event, data } of answer.events) {
          if (response.destroyed) return;
          response.write(`${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`);
          if (answer.delayInMs !== undefined) await new Promise((wait) => setTimeout(wait, answer.delayInMs));
        }
        response.end(answer.events.some(({ event }) => event !== undefined) ? "" : "data: [DONE]\n\n");
      }
    });
  });
  const port = await listenOn(server, 0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}`,
    answerNext: (answer) => void queue.push(answer),
    received: () => bodies,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A slow chat stream of `words` words (`word0 word1 ...`), one chunk every `delayInMs`, then its
 * finish and usage chunks: for tests that act while a stream is in flight (SIGTERM, Ctrl-C, a cut).
 */
export function slowWordStream(model: string, words: number, delayInMs: number): ScriptedAnswer {
  const chunk = (choices: unknown[]) => ({ id: "chatcmpl-slow", object: "chat.completion.chunk", created: 1, model, choices });
  return {
    delayInMs,
    events: [
      { data: chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]) },
      ...Array.from({ length: words }, (_, at) => ({ data: chunk([{ index: 0, delta: { content: `word${at} ` }, finish_reason: null }]) })),
      { data: chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) },
      { data: { ...chunk([]), usage: { prompt_tokens: 6, completion_tokens: words, total_tokens: words + 6 } } },
    ],
  };
}

/** A whole Response of `model` with these output items, as the upstream sends it (5 tokens in, 8 out). */
export const scriptedResponse = (model: string, output: unknown[]) => ({
  id: "resp_scripted",
  object: "response",
  created_at: 1,
  status: "completed",
  model,
  output,
  usage: { input_tokens: 5, output_tokens: 8, total_tokens: 13, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 4 } },
});
