import { type Server, createServer } from "node:http";
import { listenOn } from "../../local/listenOn.js";
import { readBody } from "../../local/mockOpenAi/mockHttp.js";

export interface RecordingUpstream {
  readonly url: string;
  /** The bodies received, in order. */
  received(): readonly Record<string, unknown>[];
  stop(): Promise<void>;
}

const USAGE = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };

/** The smallest valid answer for the path asked (chat, Responses, embeddings), plain or streamed. */
function answerFor(path: string, body: Record<string, unknown>): { readonly json?: unknown; readonly events?: readonly unknown[] } {
  const model = typeof body.model === "string" ? body.model : "gpt-4o-mini";
  if (path.includes("/embeddings")) {
    const count = Array.isArray(body.input) && body.input.some((item) => typeof item !== "number") ? body.input.length : 1;
    return { json: { object: "list", model, data: Array.from({ length: count }, (_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] })), usage: { prompt_tokens: 5, total_tokens: 5 } } };
  }
  if (path.includes("/responses")) {
    const message = { type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "ok", annotations: [] }] };
    const response = { id: "resp_rec", object: "response", created_at: 1, status: "completed", model, output: [message], usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } };
    return { json: response };
  }
  const chunk = (choices: unknown[]) => ({ id: "chatcmpl-rec", object: "chat.completion.chunk", created: 1, model, choices });
  if (body.stream === true) {
    return {
      events: [
        chunk([{ index: 0, delta: { role: "assistant", content: "ok" }, finish_reason: null }]),
        chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
        { ...chunk([]), usage: USAGE },
      ],
    };
  }
  return { json: { id: "chatcmpl-rec", object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, finish_reason: "stop" }], usage: USAGE } };
}

/**
 * An upstream that records every body it receives and answers each with the smallest valid answer
 * for its path: for tests that send many different requests, some refused before the upstream, and
 * assert only on what the upstream got.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((text) => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Recorded as empty: the test sees a body it did not send.
      }
      bodies.push(body);
      const answer = answerFor(request.url ?? "", body);
      if (answer.events === undefined) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer.json));
        return;
      }
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const event of answer.events) response.write(`data: ${JSON.stringify(event)}\n\n`);
      response.end("data: [DONE]\n\n");
    });
  });
  const port = await listenOn(server, 0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => bodies,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
