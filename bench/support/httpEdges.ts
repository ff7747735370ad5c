import { type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { type ChildProcess, spawn } from "node:child_process";
import { Agent, createServer, request as httpRequest } from "node:http";
import { type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startLocalHost } from "../../local/host/index.js";
import { startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { errorResponse } from "../../src/adapters/http/errorResponse.js";
import { toHttpResponse } from "../../src/adapters/http/gatewayHttp.js";
import { readJsonBody } from "../../src/adapters/http/readJsonBody.js";
import { OpenAiCompletionProvider } from "../../src/adapters/openai/OpenAiCompletionProvider.js";
import { PalisadeError } from "../../src/core/errors.js";
import { type EndpointPolicy } from "../../src/core/policy/schema.js";
import { type FunctionDefinition } from "../../src/functions/definition.js";

/**
 * The two HTTP edges of the gateway, alone, in CPU microseconds per call of THIS process
 * (`process.cpuUsage()`, all threads, so GC helpers count):
 *
 * - `host.*`: N requests through the local Functions host (`local/host`) to handlers that do only the
 *   edge work: `json` reads the body with `readJsonBody` and answers a completion-sized `jsonBody`;
 *   `error` answers `errorResponse(...)` without reading the body; `sse` answers 8 SSE events through
 *   `toHttpResponse`. The load generator is a child process (keep-alive, 16 in flight), so its CPU is
 *   not counted.
 * - `upstream.*`: N calls through `OpenAiCompletionProvider` (`complete`, and `stream` drained) to the
 *   mock upstream in a child process, 16 in flight.
 *
 * Each figure is the median of several rounds after a warm-up. Run:
 *   node dist/bench/support/httpEdges.js [--quick] [--only=host|upstream] [--json]
 */

const CONCURRENCY = 16;
const PROMPT = {
  model: "gpt-4o-mini",
  max_tokens: 128,
  messages: [
    { role: "system", content: "You are a helpful assistant for an insurance company. Answer briefly and politely." },
    { role: "user", content: "x".repeat(40) + " How do I file a claim for water damage in my apartment, and which documents do I need to attach? ".repeat(3) },
  ],
};
const REQUEST_BODY = Buffer.from(JSON.stringify(PROMPT));
const COMPLETION = {
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "A mock answer of a typical length. ".repeat(8) }, finish_reason: "stop" }],
  usage: { prompt_tokens: 90, completion_tokens: 64, total_tokens: 154 },
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Runs `count` calls of `call`, `CONCURRENCY` at a time. */
async function inParallel(count: number, call: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started += 1;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

/** CPU µs per call of this process, median over rounds, after a warm-up round. */
async function measure(rounds: number, perRound: number, round: (count: number) => Promise<void>): Promise<number> {
  await round(perRound);
  const perCall: number[] = [];
  for (let index = 0; index < rounds; index += 1) {
    const before = cpuMicros();
    await round(perRound);
    perCall.push((cpuMicros() - before) / perRound);
  }
  return Math.round(median(perCall));
}

function spawnSelf(role: string): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), `--child=${role}`], { stdio: ["pipe", "pipe", "inherit"] });
  if (!child.stdout) throw new Error("the child has no stdout");
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const next = await lines.next();
  if (next.done) throw new Error("the child process ended early");
  return next.value;
}

async function hostEdge(rounds: number, perRound: number): Promise<Record<string, number>> {
  const jsonHandler = async (request: HttpRequest): Promise<HttpResponseInit> => {
    await readJsonBody(request, 1024 * 1024);
    return { status: 200, headers: { "content-type": "application/json", "x-request-id": "bench-request-id" }, jsonBody: COMPLETION };
  };
  const errorHandler = async (): Promise<HttpResponseInit> =>
    errorResponse(new PalisadeError(429, "rate_limit_error", "rate_limit_exceeded", "Too many requests. Wait and retry.", { headers: { "retry-after": "1" } }), "bench-request-id");
  const sseHandler = async (): Promise<HttpResponseInit> => {
    async function* events(): AsyncIterable<string> {
      for (let index = 0; index < 8; index += 1) yield `data: ${JSON.stringify({ index, delta: "some words " })}\n\n`;
      yield "data: [DONE]\n\n";
    }
    return toHttpResponse({ kind: "stream", status: 200, headers: { "x-request-id": "bench-request-id" }, events: events() });
  };
  const route = (name: string, handler: (request: HttpRequest) => Promise<HttpResponseInit>): FunctionDefinition => ({
    kind: "http",
    name,
    options: { route: `edge/${name}`, methods: ["POST"], authLevel: "anonymous", handler },
  });
  const host = await startLocalHost({ definitions: [route("json", jsonHandler), route("error", async () => errorHandler()), route("sse", async () => sseHandler())], log: () => undefined });
  // The floor: plain node:http doing the same work (read and parse the body, send the JSON answer).
  const raw = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      response.writeHead(200, { "content-type": "application/json", "x-request-id": "bench-request-id" }).end(JSON.stringify(COMPLETION));
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`;
  const { child, lines } = spawnSelf("load");
  try {
    const results: Record<string, number> = {};
    const edges = [["plainNodeHttp", rawUrl], ...["json", "error", "sse"].map((edge) => [edge, `${host.url}/edge/${edge}`])] as const;
    // PALISADE_HTTP_EDGES=json,sse measures only those (for a CPU profile of one edge).
    const wanted = process.env.PALISADE_HTTP_EDGES?.split(",");
    for (const [name, url] of edges.filter(([name]) => !wanted || wanted.includes(name))) {
      results[`host.${name}CpuMicrosPerRequest`] = await measure(rounds, perRound, async (count) => {
        child.stdin?.write(`${JSON.stringify({ url, count })}\n`);
        const answer = await nextLine(lines);
        if (answer !== "ok") throw new Error(`load child: ${answer}`);
      });
    }
    return results;
  } finally {
    child.stdin?.end();
    raw.closeAllConnections();
    raw.close();
    await host.stop();
  }
}

async function upstreamEdge(rounds: number, perRound: number): Promise<Record<string, number>> {
  const { child, lines } = spawnSelf("mock");
  try {
    const url = await nextLine(lines);
    const endpoint: EndpointPolicy = {
      id: "bench-eu",
      provider: "azure",
      baseUrl: url,
      region: "westeurope",
      residency: "eu",
      class: "standard",
      deployments: ["bench-deployment"],
      priority: 1,
      apiVersion: "2024-10-21",
      auth: { kind: "none" },
      timeoutInMs: 10_000,
    };
    const provider = new OpenAiCompletionProvider({ credential: null, readApiKey: null });
    let id = 0;
    const callOptions = () => ({ deployment: "bench-deployment", timeoutInMs: 10_000, requestId: `bench-${(id += 1)}`, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    const complete = async (): Promise<void> => {
      const completion = await provider.complete(endpoint, PROMPT, callOptions());
      if (!completion.usage) throw new Error("no usage in the mock's answer");
    };
    const stream = async (): Promise<void> => {
      let chunks = 0;
      for await (const chunk of await provider.stream(endpoint, PROMPT, callOptions())) chunks += chunk.choices.length + 1;
      if (chunks < 2) throw new Error("the mock's stream was empty");
    };
    // The floor: one POST on node:http with keep-alive and JSON.parse of the answer, no SDK.
    const agent = new Agent({ keepAlive: true });
    const target = new URL(`${url}/openai/deployments/bench-deployment/chat/completions?api-version=2024-10-21`);
    const payload = JSON.stringify({ ...PROMPT, model: "bench-deployment", stream: false });
    const plain = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const outgoing = httpRequest(target, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => (JSON.parse(Buffer.concat(chunks).toString("utf8")) ? resolve() : reject(new Error("empty answer"))));
        });
        outgoing.on("error", reject);
        outgoing.end(payload);
      });
    const floor = await measure(rounds, perRound, (count) => inParallel(count, plain));
    agent.destroy();
    return {
      "upstream.plainNodeHttpCpuMicrosPerCall": floor,
      "upstream.completeCpuMicrosPerCall": await measure(rounds, perRound, (count) => inParallel(count, complete)),
      "upstream.streamCpuMicrosPerCall": await measure(rounds, perRound, (count) => inParallel(count, stream)),
    };
  } finally {
    child.stdin?.end();
  }
}

export async function runHttpEdgesBench(options: { quick: boolean; only?: "host" | "upstream" }): Promise<Record<string, number>> {
  const rounds = options.quick ? 5 : 9;
  const perRound = options.quick ? 1_000 : 3_000;
  return {
    ...(options.only === "upstream" ? {} : await hostEdge(rounds, perRound)),
    ...(options.only === "host" ? {} : await upstreamEdge(rounds, perRound)),
  };
}

/** Child: a keep-alive load generator driven by one JSON line per round on stdin. */
async function loadChild(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (url: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": REQUEST_BODY.byteLength } }, (response) => {
        let size = 0;
        response.on("data", (chunk: Buffer) => (size += chunk.byteLength));
        response.on("end", () => (response.statusCode === 200 || response.statusCode === 429) && size > 0 ? resolve() : reject(new Error(`status ${response.statusCode}, ${size} bytes`)));
        response.on("error", reject);
      });
      outgoing.on("error", reject);
      outgoing.end(REQUEST_BODY);
    });
  for await (const line of createInterface({ input: process.stdin })) {
    const { url, count } = JSON.parse(line) as { url: string; count: number };
    try {
      await inParallel(count, () => post(url));
      process.stdout.write("ok\n");
    } catch (error) {
      process.stdout.write(`${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  agent.destroy();
}

/** Child: the mock upstream until stdin closes. */
async function mockChild(): Promise<void> {
  const mock = await startMockOpenAi({ name: "bench", region: "westeurope", maxRecorded: 10 });
  process.stdout.write(`${mock.url}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once("end", () => resolve()));
  await mock.stop();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const role = args.find((arg) => arg.startsWith("--child="))?.slice("--child=".length);
  const only = args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);
  const main = async (): Promise<void> => {
    if (role === "load") return loadChild();
    if (role === "mock") return mockChild();
    const results = await runHttpEdgesBench({ quick: args.includes("--quick"), ...(only === "host" || only === "upstream" ? { only } : {}) });
    process.stdout.write(args.includes("--json") ? `${JSON.stringify(results)}\n` : Object.entries(results).map(([key, value]) => `${key.padEnd(36)} ${value}`).join("\n") + "\n");
  };
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`httpEdges: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
