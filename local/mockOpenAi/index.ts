import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { type MockIdentity, answerChatCompletion, promptOf } from "./chatCompletions.js";
import { mockEmbeddings, embeddingTextsOf } from "./embeddings.js";
import { type MockFault, directivesIn } from "./faults.js";
import { readBody, sendError, sleep } from "./mockHttp.js";
import { StoredResponses, planMockResponse, responseEvents, responseObject, responsesTextsOf } from "./responses.js";
import { MockStoredResponseCalls } from "./storedResponses.js";
import { mockCompaction, mockInputTokens } from "./compaction.js";
import { listenOn } from "../listenOn.js";

export type { MockFault } from "./faults.js";

/** What the mock received: enough to assert on, e.g. that redacted text (not the original) reached the model. */
export interface RecordedRequest {
  readonly path: string;
  readonly deployment: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
  readonly receivedAtInMs: number;
}

export interface MockOpenAiOptions {
  readonly port?: number;
  readonly host?: string;
  /** Shown in replies, to tell endpoints apart. */
  readonly name?: string;
  readonly region?: string;
  /** Delay between stream chunks. */
  readonly chunkDelayInMs?: number;
  /** Keep at most this many recorded requests (oldest dropped). */
  readonly maxRecorded?: number;
}

export interface RunningMockOpenAi {
  /** Base URL; Azure clients use it as `endpoint`, OpenAI clients as `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  setFault(fault: MockFault | null): void;
  requests(): readonly RecordedRequest[];
  clearRequests(): void;
  /** Ids of the Responses the mock stored (those not sent with `store: false`). */
  storedResponseIds(): readonly string[];
  stop(): Promise<void>;
}

/**
 * An OpenAI-compatible upstream for local runs and tests: Azure routes
 * (`/openai/deployments/{d}/chat/completions`) and platform routes (`/v1/chat/completions`),
 * plain and SSE answers with usage, fault injection, and a log of what it received. Embeddings
 * (embeddings.ts) and the Responses API (responses.ts) on the same routes, plus Azure's v1 paths.
 * Stored Responses can be read back, deleted, cancelled and their input listed (storedResponses.ts); a
 * conversation compacted and its input tokens counted (compaction.ts).
 * Admin API: `PUT /_mock/fault` (JSON MockFault, or empty to clear), `GET /_mock/requests`, `DELETE /_mock/requests`.
 */
export async function startMockOpenAi(options: MockOpenAiOptions = {}): Promise<RunningMockOpenAi> {
  const name = options.name ?? "mock";
  const region = options.region ?? "local";
  const maxRecorded = options.maxRecorded ?? 1000;
  const chunkDelayInMs = options.chunkDelayInMs ?? 0;
  let fault: MockFault | null = null;
  let faultUsesLeft = Number.POSITIVE_INFINITY;
  const recorded: RecordedRequest[] = [];

  const takeFault = (): MockFault | null => {
    if (!fault) return null;
    const current = fault;
    faultUsesLeft -= 1;
    if (faultUsesLeft <= 0) fault = null;
    return current;
  };

  const setFault = (next: MockFault | null): void => {
    fault = next;
    faultUsesLeft = next?.times ?? Number.POSITIVE_INFINITY;
  };

  const handleAdmin = async (request: IncomingMessage, response: ServerResponse, path: string): Promise<void> => {
    if (path === "/_mock/fault" && request.method === "PUT") {
      const text = await readBody(request);
      setFault(text.trim() === "" ? null : (JSON.parse(text) as MockFault));
      response.writeHead(204).end();
    } else if (path === "/_mock/requests" && request.method === "GET") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(recorded));
    } else if (path === "/_mock/requests" && request.method === "DELETE") {
      recorded.length = 0;
      response.writeHead(204).end();
    } else {
      sendError(response, 404, "unknown mock admin route");
    }
  };

  /** The body, recorded; null when it was not JSON (answered 400). */
  const receive = async (request: IncomingMessage, response: ServerResponse, path: string, deployment: string | null): Promise<Record<string, unknown> | null> => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    } catch {
      sendError(response, 400, "body is not JSON");
      return null;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) if (typeof value === "string") headers[key] = value;
    recorded.push({ path, deployment, headers, body, receivedAtInMs: Date.now() });
    if (recorded.length > maxRecorded) recorded.shift();
    return body;
  };

  /** Applies the request's fault (its prompt directive, else the endpoint's); "answered" when the fault was the answer. */
  const applyFault = async (request: IncomingMessage, response: ServerResponse, fault: MockFault | null): Promise<"answered" | "go-on"> => {
    if (fault?.latencyInMs) await sleep(fault.latencyInMs);
    if (fault?.drop) {
      request.socket.destroy();
      return "answered";
    }
    if (fault?.status && fault.status >= 400) {
      sendError(response, fault.status, `injected fault ${fault.status}`, fault.retryAfterSeconds, fault.errorCode);
      return "answered";
    }
    return "go-on";
  };

  const identity: MockIdentity = { name, region, chunkDelayInMs };

  const handleCompletion = async (request: IncomingMessage, response: ServerResponse, path: string, deployment: string | null): Promise<void> => {
    const body = await receive(request, response, path, deployment);
    if (body === null) return;
    const directives = directivesIn(promptOf(body));
    const fault = directives.fault ?? takeFault();
    if ((await applyFault(request, response, fault)) === "answered") return;
    await answerChatCompletion(response, { body, deployment, echo: directives.echo, fault }, identity);
  };

  const storedResponses = new StoredResponses(maxRecorded);
  const storedCalls = new MockStoredResponseCalls(storedResponses);

  /** A call on a stored Response (retrieve, delete, cancel, input items): recorded (its query as the body), then answered from what the mock kept. */
  const handleStored = (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams, id: string, action: string | undefined): void => {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) if (typeof value === "string") headers[key] = value;
    recorded.push({ path, deployment: null, headers, body: Object.fromEntries(query), receivedAtInMs: Date.now() });
    if (recorded.length > maxRecorded) recorded.shift();
    request.resume();
    storedCalls.answer(response, { method: request.method ?? "GET", id, action, query }, { "x-mock-endpoint": name, "x-mock-region": region });
  };

  /** `POST /responses/compact` and `/responses/input_tokens` (compaction.ts): same recording and faults as a create. */
  const handleInputCall = async (request: IncomingMessage, response: ServerResponse, path: string, call: "compact" | "input_tokens"): Promise<void> => {
    const body = await receive(request, response, path, null);
    if (body === null) return;
    const directives = directivesIn(responsesTextsOf(body).all.join("\n"));
    if ((await applyFault(request, response, directives.fault ?? takeFault())) === "answered") return;
    const outcome = call === "compact" ? mockCompaction(body, storedResponses) : mockInputTokens(body, storedResponses);
    if (outcome.kind === "error") {
      response.writeHead(outcome.status, { "content-type": "application/json", "x-should-retry": "false" });
      response.end(JSON.stringify({ error: { message: outcome.message, type: "invalid_request_error", code: outcome.code, param: outcome.param } }));
      return;
    }
    response.writeHead(200, { "content-type": "application/json", "x-mock-endpoint": name, "x-mock-region": region }).end(JSON.stringify(outcome.body));
  };

  /** Embeddings and the Responses API: same recording and faults as chat, answers from their own modules. */
  const handleOperation = async (request: IncomingMessage, response: ServerResponse, path: string, deployment: string | null, operation: "embeddings" | "responses"): Promise<void> => {
    const body = await receive(request, response, path, deployment);
    if (body === null) return;
    const texts = operation === "embeddings" ? embeddingTextsOf(body.input) : responsesTextsOf(body).all;
    const directives = directivesIn(texts.join("\n"));
    const activeFault = directives.fault ?? takeFault();
    if ((await applyFault(request, response, activeFault)) === "answered") return;
    const model = typeof body.model === "string" ? body.model : (deployment ?? "mock-model");
    const served = { "x-mock-endpoint": name, "x-mock-region": region };

    if (operation === "embeddings") {
      const outcome = mockEmbeddings(body, model);
      if (outcome.kind === "error") {
        sendError(response, outcome.status, outcome.message);
        return;
      }
      response.writeHead(200, { "content-type": "application/json", ...served }).end(JSON.stringify(outcome.body));
      return;
    }

    const outcome = planMockResponse(body, model, { name, region, echo: directives.echo, stored: storedResponses });
    if (outcome.kind === "error") {
      response.writeHead(outcome.status, { "content-type": "application/json", "x-should-retry": "false" });
      response.end(JSON.stringify({ error: { message: outcome.message, type: "invalid_request_error", code: outcome.code, param: outcome.param } }));
      return;
    }
    const createdAt = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      // A background Response is answered queued; retrieving it moves it on (storedResponses.ts).
      if (body.background === true) storedCalls.queue(outcome.plan.id);
      response.writeHead(200, { "content-type": "application/json", ...served }).end(JSON.stringify(responseObject(outcome.plan, createdAt, body.background === true ? "queued" : "completed")));
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...served });
    let sent = 0;
    for (const event of responseEvents(outcome.plan, createdAt)) {
      const isDelta = event.type.endsWith(".delta");
      if (isDelta && activeFault?.truncateAfterChunks !== undefined && sent >= activeFault.truncateAfterChunks) {
        response.socket?.destroy();
        return;
      }
      if (isDelta) {
        sent += 1;
        const pace = activeFault?.paceInMs ?? chunkDelayInMs;
        if (pace > 0) await sleep(pace);
      }
      response.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    }
    response.end();
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://mock");
    const path = url.pathname;
    const azure = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path);
    const operation = request.method === "POST" ? operationRouteOf(path) : null;
    const inputCall = request.method === "POST" ? /^\/(?:v1|openai\/v1)\/responses\/(compact|input_tokens)$/.exec(path)?.[1] : undefined;
    const stored = /^\/(?:v1|openai\/v1|openai)\/responses\/([^/]+)(?:\/(cancel|input_items))?$/.exec(path);
    const work = path.startsWith("/_mock/")
      ? handleAdmin(request, response, path)
      : inputCall === "compact" || inputCall === "input_tokens"
        ? handleInputCall(request, response, path, inputCall)
      : stored
        ? Promise.resolve(handleStored(request, response, path, url.searchParams, decodeURIComponent(stored[1] ?? ""), stored[2]))
      : request.method === "POST" && (azure || path === "/v1/chat/completions" || path === "/openai/v1/chat/completions")
        ? handleCompletion(request, response, path, azure?.[1] ? decodeURIComponent(azure[1]) : null)
        : operation
          ? handleOperation(request, response, path, operation.deployment, operation.operation)
          : Promise.resolve(sendError(response, 404, `no route ${request.method ?? ""} ${path}`));
    work.catch(() => {
      if (!response.headersSent) sendError(response, 500, "mock failure");
      else response.end();
    });
  });
  server.keepAliveTimeout = 5_000;

  const port = await listenOn(server, options.port ?? 0, options.host ?? "127.0.0.1");

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    setFault,
    requests: () => recorded,
    clearRequests: () => void (recorded.length = 0),
    storedResponseIds: () => storedResponses.ids(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Embeddings and Responses routes, in the platform's (`/v1/...`), Azure's deployment
 * (`/openai/deployments/{d}/...`), Azure's dated (`/openai/responses`) and Azure's v1 (`/openai/v1/...`) shapes.
 */
function operationRouteOf(path: string): { operation: "embeddings" | "responses"; deployment: string | null } | null {
  const deploymentRoute = /^\/openai\/deployments\/([^/]+)\/(embeddings|responses)$/.exec(path);
  if (deploymentRoute) return { operation: deploymentRoute[2] === "embeddings" ? "embeddings" : "responses", deployment: decodeURIComponent(deploymentRoute[1] ?? "") };
  const plain = /^\/(?:v1|openai\/v1|openai)\/(embeddings|responses)$/.exec(path);
  if (!plain || (path === "/openai/embeddings")) return null;
  return { operation: plain[1] === "embeddings" ? "embeddings" : "responses", deployment: null };
}
