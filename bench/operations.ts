import { Redactor } from "../src/core/dlp/index.js";
import { createChatOperation } from "../src/core/gateway/operations/chat/chatOperation.js";
import { createEmbeddingsOperation } from "../src/core/gateway/operations/embeddings/embeddingsOperation.js";
import { createResponsesOperation } from "../src/core/gateway/operations/responses/responsesOperation.js";
import { inspectInput } from "../src/core/gateway/pipeline/inspectInput.js";
import { type Operation, type PlainAnswer } from "../src/core/gateway/pipeline/Operation.js";
import { OutputScanner } from "../src/core/gateway/pipeline/OutputScanner.js";
import { policySchema } from "../src/core/policy/schema.js";
import { type UpstreamProvider } from "../src/core/upstream/UpstreamProvider.js";

/**
 * Palisade CPU per request for what differs between operations, side by side for requests carrying the
 * same text: parse, collect the content fields, DLP (and write-back), token estimate, the upstream body,
 * and the output inspection (a whole answer, or a stream session over the upstream's events). Every
 * other stage (authenticate, authorize, limit, route, record) is the pipeline's and the same code for
 * every operation; bench/gateway.ts measures those over HTTP for chat. In process, no network.
 */

const SYSTEM = "You are a concise assistant for an internal finance team. Answer in plain English.";
const QUESTION =
  "Summarise in two sentences why the third-quarter operating margin fell while revenue grew, given that freight costs rose, " +
  "the new warehouse opened in September and the marketing budget was front-loaded into July and August.";
const ANSWER = "Margins fell because freight and the new warehouse raised costs faster than revenue, and marketing spend was pulled forward into the quarter.";

const unused = (): never => {
  throw new Error("the operations bench never calls the upstream");
};
const provider: UpstreamProvider = { complete: unused, stream: unused, createEmbeddings: unused, createResponse: unused, streamResponse: unused, callStoredResponse: unused, streamStoredResponse: unused, compactResponse: unused, countInputTokens: unused };

const project = policySchema.parse({
  version: 1,
  projects: [{ id: "bench", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }] }],
  endpoints: [{ id: "e", provider: "azure", baseUrl: "https://e.openai.azure.com", region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt-4o-mini"] }],
}).projects[0];
const clock = { nowInMs: () => Date.now() };

interface Case<T> {
  readonly operation: Operation<T>;
  readonly body: Readonly<Record<string, unknown>>;
  readonly answer: PlainAnswer;
  /** The upstream's stream events, when the operation streams. */
  readonly events?: readonly unknown[];
}

const chatCase: Case<unknown> = {
  operation: createChatOperation(provider),
  body: { model: "gpt-4o-mini", messages: [{ role: "system", content: SYSTEM }, { role: "user", content: QUESTION }], max_tokens: 128 },
  answer: { body: { id: "c", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: ANSWER }, finish_reason: "stop" }] }, usage: null },
  events: [
    ...(ANSWER.match(/\S+\s*/g) ?? []).map((word) => ({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })),
    { id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    { id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 60, completion_tokens: 30 } },
  ],
};

const embeddingsCase: Case<unknown> = {
  operation: createEmbeddingsOperation(provider),
  body: { model: "gpt-4o-mini", input: [SYSTEM, QUESTION], encoding_format: "base64" },
  answer: { body: { object: "list", data: [{ object: "embedding", index: 0, embedding: "AAAA" }, { object: "embedding", index: 1, embedding: "AAAA" }] }, usage: null },
};

const at = { item_id: "msg_1", output_index: 0, content_index: 0 };
const responsesCase: Case<unknown> = {
  operation: createResponsesOperation(provider),
  body: { model: "gpt-4o-mini", instructions: SYSTEM, input: QUESTION, max_output_tokens: 128 },
  answer: { body: { id: "r", object: "response", output: [{ type: "message", id: "msg_1", role: "assistant", content: [{ type: "output_text", text: ANSWER, annotations: [] }] }] }, usage: null },
  events: [
    { type: "response.created", response: { id: "r", output: [] } },
    { type: "response.output_item.added", output_index: 0, item: { type: "message", id: "msg_1", content: [] } },
    ...(ANSWER.match(/\S+\s*/g) ?? []).map((delta) => ({ type: "response.output_text.delta", ...at, delta })),
    { type: "response.output_text.done", ...at, text: ANSWER },
    { type: "response.output_item.done", output_index: 0, item: { type: "message", id: "msg_1", content: [{ type: "output_text", text: ANSWER }] } },
    { type: "response.completed", response: { id: "r", output: [{ type: "message", content: [{ type: "output_text", text: ANSWER }] }], usage: { input_tokens: 60, output_tokens: 30 } } },
  ],
};

/** One request's operation work; `streamed` inspects the events instead of the whole answer. */
function once(item: Case<unknown>, streamed: boolean): void {
  if (!project) throw new Error("bench policy has no project");
  const { operation } = item;
  const request = operation.parse(item.body);
  operation.checkBounds(request, project);
  const inspection = inspectInput(operation, request, project, "internal", clock);
  operation.estimateInputTokens(inspection.request);
  const outputCap = operation.outputCap(inspection.request, project);
  const body = operation.upstreamBody(inspection.request, { outputCap, user: null, project, dataClass: "internal" });
  JSON.stringify(body);
  const scanner = new OutputScanner(project.dlp, inspection.redactor ?? new Redactor());
  if (streamed && operation.streaming && item.events) {
    const session = operation.streaming.session(inspection.request, scanner);
    for (const event of item.events) session.push(event);
    session.finish();
    session.closingFrames();
  } else {
    JSON.stringify(operation.inspectAnswer(item.answer, scanner));
  }
}

function cpuMicrosPerRequest(item: Case<unknown>, streamed: boolean, iterations: number): number {
  for (let index = 0; index < Math.min(200, iterations); index += 1) once(item, streamed);
  const started = process.cpuUsage();
  for (let index = 0; index < iterations; index += 1) once(item, streamed);
  const used = process.cpuUsage(started);
  return Math.round(((used.user + used.system) / iterations) * 10) / 10;
}

export async function runOperationsBench(options: { quick: boolean; log?: (line: string) => void }): Promise<Record<string, number>> {
  const iterations = options.quick ? 2_000 : 10_000;
  const results = {
    "chat.cpuMicrosPerRequest": cpuMicrosPerRequest(chatCase, false, iterations),
    "embeddings.cpuMicrosPerRequest": cpuMicrosPerRequest(embeddingsCase, false, iterations),
    "responses.cpuMicrosPerRequest": cpuMicrosPerRequest(responsesCase, false, iterations),
    "chat.streamed.cpuMicrosPerRequest": cpuMicrosPerRequest(chatCase, true, iterations),
    "responses.streamed.cpuMicrosPerRequest": cpuMicrosPerRequest(responsesCase, true, iterations),
  };
  options.log?.(
    `operations (same text, in process): chat ${results["chat.cpuMicrosPerRequest"]} µs, embeddings ${results["embeddings.cpuMicrosPerRequest"]} µs, responses ${results["responses.cpuMicrosPerRequest"]} µs; ` +
      `streamed chat ${results["chat.streamed.cpuMicrosPerRequest"]} µs, streamed responses ${results["responses.streamed.cpuMicrosPerRequest"]} µs`,
  );
  return Promise.resolve(results);
}
