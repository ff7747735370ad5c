import { type IncomingMessage, createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { type GatewayRequest, type GatewayResponse } from "../../src/core/gateway/GatewayRequest.js";
import { isPalisadeError } from "../../src/core/errors.js";

export interface PipelineServer {
  /** `http://127.0.0.1:<port>/v1`, for OpenAI clients. */
  readonly baseUrl: string;
  stop(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/**
 * Serves a gateway handler over HTTP on loopback, the way the HTTP adapter does (JSON, or SSE written as
 * produced and abandoned when the caller closes), so real `openai` clients can drive the pipeline.
 */
export async function servePipeline(handle: (input: GatewayRequest) => Promise<GatewayResponse>, base: (body: unknown, authorization: string | null) => GatewayRequest): Promise<PipelineServer> {
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const body = await readJson(request);
        const answer = await handle(base(body, request.headers.authorization ?? null));
        if (answer.kind === "json") {
          response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(JSON.stringify(answer.body));
          return;
        }
        response.writeHead(200, { "content-type": "text/event-stream", ...answer.headers });
        const iterator = answer.events[Symbol.asyncIterator]();
        let closed = false;
        response.once("close", () => {
          closed = true;
          void iterator.return?.();
        });
        for (;;) {
          const next = await iterator.next();
          if (next.done || closed) break;
          response.write(next.value);
        }
        response.end();
      } catch (error) {
        const status = isPalisadeError(error) ? error.status : 500;
        const payload = isPalisadeError(error) ? { error: { message: error.message, type: error.type, code: error.code, param: error.param } } : { error: { message: "internal", type: "api_error", code: "internal_error", param: null } };
        if (!response.headersSent) response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
        else response.end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
