import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CARD_NUMBER, CHAT_MODEL, type CompatStack, MOCK_REPLY, startCompatStack } from "../compat/compatStack.js";

/**
 * Outside testing: HTTP the way real clients and proxies send it, not the way the suite's own
 * fetches do: raw bytes over a socket (pipelining, `Expect: 100-continue`, chunked bodies), bodies
 * that other stacks write (a UTF-8 BOM, gzip), duplicate JSON keys (the value governed must be the
 * value forwarded), query strings and trailing slashes on OpenAI paths. Every answer is either served
 * or a 4xx in OpenAI's error shape; never a 5xx, a hang or a crash.
 */

let palisade: CompatStack;
let port: number;

beforeAll(async () => {
  palisade = await startCompatStack();
  port = Number(new URL(palisade.endpoint).port);
}, 60_000);

afterAll(async () => {
  await palisade?.stop();
});

interface RawAnswer {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** Writes `bytes` to a fresh socket and reads until the server has answered `answers` times (or closed); bounded. */
function exchange(bytes: readonly (Buffer | string)[], answers = 1, pauseInMs = 0): Promise<RawAnswer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 10 s; got: ${received.slice(0, 300)}`));
    }, 10_000);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswers(received));
    };
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (parseAnswers(received).length >= answers) done();
    });
    socket.on("end", done);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("connect", () => {
      void (async () => {
        for (const piece of bytes) {
          socket.write(piece);
          if (pauseInMs > 0) await new Promise((wait) => setTimeout(wait, pauseInMs));
        }
      })();
    });
  });
}

/** Complete HTTP/1.1 answers in `text` (content-length or chunked bodies); 100 Continue counts as one. */
function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  for (;;) {
    const headEnd = rest.indexOf("\r\n\r\n");
    if (headEnd < 0) return answers;
    const head = rest.slice(0, headEnd);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    let after = rest.slice(headEnd + 4);
    let body = "";
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (status === 100) body = "";
    else if (length) {
      const size = Number(length[1]);
      if (Buffer.byteLength(after) < size) return answers;
      body = Buffer.from(after).subarray(0, size).toString("utf8");
      after = Buffer.from(after).subarray(size).toString("utf8");
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const end = after.indexOf("\r\n0\r\n\r\n");
      if (end < 0) return answers;
      body = after
        .slice(0, end + 2)
        .split("\r\n")
        .filter((_, index) => index % 2 === 1)
        .join("");
      after = after.slice(end + 7);
    }
    answers.push({ status, head, body });
    rest = after;
  }
}

const chatBody = (content: string, extra = ""): string => `{"model":"${CHAT_MODEL}","messages":[{"role":"user","content":${JSON.stringify(content)}}]${extra}}`;

function post(path: string, body: Buffer | string, headers: Readonly<Record<string, string>> = {}, apiKey = palisade.keys.app): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const lines = [`POST ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, `authorization: Bearer ${apiKey}`, "content-type: application/json", `content-length: ${bytes.byteLength}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), bytes]);
}

/** What the mock upstream received last. */
const lastUpstreamBody = (): Readonly<Record<string, unknown>> | undefined => palisade.gateway.mocks.upstream.requests().at(-1)?.body;

const expectOpenAiError = (answer: RawAnswer | undefined, status: number): { message: string; code: string } => {
  expect(answer?.status).toBe(status);
  const error = (JSON.parse(answer?.body ?? "{}") as { error?: { message: string; code: string; type: string; param: unknown } }).error;
  expect(error).toMatchObject({ message: expect.any(String), type: expect.any(String), code: expect.any(String) });
  expect(error && "param" in error).toBe(true);
  return error ?? { message: "", code: "" };
};

describe("HTTP/1.1 as clients and proxies send it", () => {
  it("two pipelined requests on one connection are both answered, in order", async () => {
    const answers = await exchange([Buffer.concat([post("/api/v1/chat/completions", chatBody("first")), post("/api/v1/chat/completions", chatBody("second [[mock:echo]]"))])], 2);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({ choices: [{ message: { content: MOCK_REPLY } }] });
    expect(JSON.parse(answers[1]?.body ?? "{}")).toMatchObject({ choices: [{ message: { content: "second [[mock:echo]]" } }] });
  });

  it("Expect: 100-continue gets 100 Continue, then the answer to the body sent after it", async () => {
    const whole = post("/api/v1/chat/completions", chatBody("continue"), { expect: "100-continue" });
    const split = whole.indexOf("\r\n\r\n") + 4;
    const answers = await exchange([whole.subarray(0, split), whole.subarray(split)], 2, 100);
    expect(answers.map((answer) => answer.status)).toEqual([100, 200]);
  });

  it("a chunked body sent in small pieces, slowly, is served", async () => {
    const body = chatBody("chunked body");
    const head = [`POST /api/v1/chat/completions HTTP/1.1`, `host: 127.0.0.1:${port}`, `authorization: Bearer ${palisade.keys.app}`, "content-type: application/json", "transfer-encoding: chunked"].join("\r\n");
    const pieces = body.match(/.{1,7}/gs) ?? [];
    const answers = await exchange([`${head}\r\n\r\n`, ...pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`), "0\r\n\r\n"], 1, 5);
    expect(answers[0]?.status).toBe(200);
  });

  it("a body that starts with a UTF-8 byte order mark (what .NET and PowerShell writers emit) is served", async () => {
    const answers = await exchange([post("/api/v1/chat/completions", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(chatBody("with a BOM"))]))]);
    expect(answers[0]?.body).toContain(MOCK_REPLY);
    expect(answers[0]?.status).toBe(200);
  });

  it("a gzip body (content-encoding: gzip) gets a 4xx that names the encoding, not 'not valid JSON'", async () => {
    const answers = await exchange([post("/api/v1/chat/completions", gzipSync(chatBody("zipped")), { "content-encoding": "gzip" })]);
    const error = expectOpenAiError(answers[0], 415);
    expect(error.message).toMatch(/content-encoding/i);
  });

  it("duplicate keys: the value inspected is the value forwarded (the last one), for model and for messages", async () => {
    const before = palisade.gateway.mocks.upstream.requests().length;
    const body = `{"model":"not-allowed-model","messages":[{"role":"user","content":"Card ${CARD_NUMBER}"}],"model":"${CHAT_MODEL}","messages":[{"role":"user","content":"clean"}]}`;
    const answers = await exchange([post("/api/v1/chat/completions", body)]);
    expect(answers[0]?.status).toBe(200);
    expect(palisade.gateway.mocks.upstream.requests().length).toBe(before + 1);
    expect(lastUpstreamBody()).toMatchObject({ messages: [{ role: "user", content: "clean" }] });
    expect(JSON.stringify(lastUpstreamBody())).not.toContain("4111");

    // The other way round: the card last. The strict project blocks it, so nothing reaches the model.
    const strictBody = `{"model":"${CHAT_MODEL}","messages":[{"role":"user","content":"clean"}],"messages":[{"role":"user","content":"Card ${CARD_NUMBER}"}]}`;
    const refused = await exchange([post("/api/v1/chat/completions", strictBody, {}, palisade.keys.strict)]);
    expect(expectOpenAiError(refused[0], 422).code).toBe("sensitive_data_detected");
    expect(palisade.gateway.mocks.upstream.requests().length).toBe(before + 1);
  });

  it("a query string on an OpenAI path is served; a trailing slash is served or an OpenAI-shaped 404", async () => {
    const query = await exchange([post("/api/v1/chat/completions?foo=bar&api-version=2024-10-21", chatBody("query"))]);
    expect(query[0]?.status).toBe(200);
    const slash = await exchange([post("/api/v1/chat/completions/", chatBody("slash"))]);
    if (slash[0]?.status !== 200) expectOpenAiError(slash[0], 404);
  });

  it("a huge max_tokens is a 400 naming max_tokens, and unknown fields pass through to the model", async () => {
    const huge = await exchange([post("/api/v1/chat/completions", chatBody("huge", `,"max_tokens":9007199254740993`))]);
    expect(expectOpenAiError(huge[0], 400).message).toMatch(/max_tokens/);
    const unknown = await exchange([post("/api/v1/chat/completions", chatBody("unknown", `,"some_new_parameter":{"x":1}`))]);
    expect(unknown[0]?.status).toBe(200);
    expect(lastUpstreamBody()).toMatchObject({ some_new_parameter: { x: 1 } });
  });
});
