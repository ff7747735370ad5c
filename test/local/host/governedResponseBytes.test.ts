import { type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureResponse, reportUnexpectedError } from "../../../src/adapters/http/errorResponse.js";
import { gatewayRequestOf, requestIdFor, toHttpResponse } from "../../../src/adapters/http/gatewayHttp.js";
import { readJsonBody } from "../../../src/adapters/http/readJsonBody.js";
import { type FunctionDefinition } from "../../../src/functions/definition.js";
import { type RunningLocalHost, startLocalHost } from "../../../local/host/index.js";
import { type Harness, gatewayHarness } from "../../core/gateway/gatewayHarness.js";

/**
 * The exact bytes a governed chat answer goes out as through the local host (status line, every
 * header in its order, the body): plain, streamed, from the cache, and refused at the limit. The
 * response is built in several places (the pipeline's headers, the rate-limit headers, the HTTP
 * adapter, the host's direct answer); a change in how any of them builds it must not change a byte.
 */

let h: Harness;
let host: RunningLocalHost;

beforeAll(async () => {
  h = await gatewayHarness({
    project: { limits: { requestsPerMinute: 3, tokensPerMinute: 100_000 } },
    policy: {
      network: { trustedProxyHops: 2 },
      serviceAccounts: [{ id: "app", project: "acme", permissions: ["chat.completions"], ipAllowlist: ["10.0.0.0/8"], limits: { requestsPerMinute: 50, tokensPerMinute: 90_000 } }],
    },
  });
  // The chat route as operationRoute runs it, with the harness's pipeline.
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const requestId = requestIdFor(request, () => context.invocationId);
    try {
      const body = await readJsonBody(request, h.policy.limits.maxBodyBytes);
      const input = gatewayRequestOf(request, requestId, h.policy.network.trustedProxyHops, body, context.traceContext);
      return toHttpResponse(await h.pipeline.handle(h.chat, input), (error) => reportUnexpectedError(error, requestId, context));
    } catch (error) {
      return failureResponse(error, requestId, context);
    }
  };
  const definitions: FunctionDefinition[] = [{ kind: "http", name: "chatCompletions", options: { route: "v1/chat/completions", methods: ["POST"], authLevel: "anonymous", handler } }];
  host = await startLocalHost({ definitions, log: () => undefined });
});

afterAll(async () => {
  await host?.stop();
});

/** The raw response to one request on its own connection, with the Date header's value blanked. */
function rawExchange(requestId: string, body: Record<string, unknown>, dataClass = "public"): Promise<string> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect(host.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1").replace(/\r\nDate: [^\r]*\r\n/, "\r\nDate: -\r\n")));
    socket.on("error", reject);
    socket.write(
      `POST /api/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${h.keys.app}\r\nX-Forwarded-For: 10.1.2.3\r\nX-Request-Id: ${requestId}\r\nX-Data-Classification: ${dataClass}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
  });
}

// The plain answer's last lines: its length, the host's own headers and its body, which the cache hit sends again.
const firstAnswerTail = [
  "content-length: 276",
  "Date: -",
  "Connection: close",
  "",
  "{\"id\":\"chatcmpl-fake-1\",\"object\":\"chat.completion\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the fake upstream.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":8,\"total_tokens\":20}}",
];

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content }], max_tokens: 50, ...extra });

describe("local host: the bytes of a governed chat answer", () => {
  it("sends a plain answer, a streamed one, a cached one and a limit refusal byte for byte as before", async () => {
    const exchanges = [
      await rawExchange("req-bytes-0001", ask("hello", { temperature: 0 })),
      await rawExchange("req-bytes-0002", ask("hello, streamed", { stream: true, stream_options: { include_usage: true } })),
      await rawExchange("req-bytes-0003", ask("hello", { temperature: 0 })),
      await rawExchange("req-bytes-0004", ask("hello again")),
      await rawExchange("req-bytes-0005", ask("once more"), "internal"),
    ];
    expect(exchanges).toEqual(GOLDEN);
  });
});

/** What main sent before this test was written (session 9), one array of lines (split at CRLF) per exchange. */
const GOLDEN: string[] = [
  [
    "HTTP/1.1 200 OK",
    "content-type: application/json",
    "x-request-id: req-bytes-0001",
    "x-ratelimit-limit-requests: 3",
    "x-ratelimit-remaining-requests: 2",
    "x-ratelimit-reset-requests: 45s",
    "x-ratelimit-limit-tokens: 90000",
    "x-ratelimit-remaining-tokens: 89942",
    "x-ratelimit-reset-tokens: 45s",
    "x-palisade-classification: public",
    "x-palisade-redactions: 0",
    "x-palisade-region: westeurope",
    "x-palisade-endpoint-class: standard",
    "x-palisade-cache: miss",
    ...firstAnswerTail,
  ].join("\r\n"),
  [
    "HTTP/1.1 200 OK",
    "cache-control: no-cache",
    "content-type: text/event-stream; charset=utf-8",
    "x-accel-buffering: no",
    "x-palisade-classification: public",
    "x-palisade-endpoint-class: standard",
    "x-palisade-redactions: 0",
    "x-palisade-region: westeurope",
    "x-ratelimit-limit-requests: 3",
    "x-ratelimit-limit-tokens: 90000",
    "x-ratelimit-remaining-requests: 1",
    "x-ratelimit-remaining-tokens: 89920",
    "x-ratelimit-reset-requests: 45s",
    "x-ratelimit-reset-tokens: 45s",
    "x-request-id: req-bytes-0002",
    "Date: -",
    "Connection: close",
    "Transfer-Encoding: chunked",
    "",
    "bc",
    "data: {\"id\":\"chatcmpl-fake-2\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "bd",
    "data: {\"id\":\"chatcmpl-fake-2\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello from the fake \"},\"finish_reason\":null}]}\n\n",
    "b4",
    "data: {\"id\":\"chatcmpl-fake-2\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"upstream.\"},\"finish_reason\":\"stop\"}]}\n\n",
    "e3",
    "data: {\"id\":\"chatcmpl-fake-2\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":8,\"total_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n",
    "e",
    "data: [DONE]\n\n",
    "0",
    "",
    "",
  ].join("\r\n"),
  [
    "HTTP/1.1 200 OK",
    "content-type: application/json",
    "x-request-id: req-bytes-0003",
    "x-palisade-classification: public",
    "x-palisade-redactions: 0",
    "x-palisade-region: westeurope",
    "x-palisade-endpoint-class: standard",
    "x-palisade-cache: hit",
    "age: 0",
    ...firstAnswerTail,
  ].join("\r\n"),
  [
    "HTTP/1.1 200 OK",
    "content-type: application/json",
    "x-request-id: req-bytes-0004",
    "x-ratelimit-limit-requests: 3",
    "x-ratelimit-remaining-requests: 0",
    "x-ratelimit-reset-requests: 45s",
    "x-ratelimit-limit-tokens: 90000",
    "x-ratelimit-remaining-tokens: 89901",
    "x-ratelimit-reset-tokens: 45s",
    "x-palisade-classification: public",
    "x-palisade-redactions: 0",
    "x-palisade-region: westeurope",
    "x-palisade-endpoint-class: standard",
    "content-length: 276",
    "Date: -",
    "Connection: close",
    "",
    "{\"id\":\"chatcmpl-fake-3\",\"object\":\"chat.completion\",\"created\":1767225600,\"model\":\"mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the fake upstream.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":8,\"total_tokens\":20}}",
  ].join("\r\n"),
  [
    "HTTP/1.1 429 Too Many Requests",
    "content-type: application/json",
    "x-request-id: req-bytes-0005",
    "x-ms-error-code: rate_limit_exceeded",
    "x-ratelimit-limit-requests: 3",
    "x-ratelimit-remaining-requests: 0",
    "x-ratelimit-reset-requests: 45s",
    "x-ratelimit-limit-tokens: 90000",
    "x-ratelimit-remaining-tokens: 89940",
    "x-ratelimit-reset-tokens: 45s",
    "retry-after: 45",
    "retry-after-ms: 45000",
    "content-length: 203",
    "Date: -",
    "Connection: close",
    "",
    "{\"error\":{\"message\":\"Rate limit of project \\\"acme\\\" reached for this minute (requests or tokens per minute). Retry after 45 seconds.\",\"type\":\"rate_limit_error\",\"code\":\"rate_limit_exceeded\",\"param\":null}}",
  ].join("\r\n"),
];
