import fc from "fast-check";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { HARDENING_UPSTREAMS, type HardeningUpstream, MAX_BODY_BYTES, MODEL, hardeningPolicy, isOpenAiError } from "./hardeningPolicy.js";

/**
 * Fuzzing the HTTP surface: over 10,000 generated requests (invalid JSON, wrong types in every field,
 * huge and deeply nested values, odd Unicode, missing and duplicated headers, wrong methods and content
 * types, bodies around the size limit) against the local host on the whole stack. No answer may be a
 * 5xx or a crash; every refusal under /api/v1 has the OpenAI error shape, `x-request-id` and
 * `x-ms-error-code`; and the process is healthy afterwards.
 *
 * Requests are sampled from fast-check arbitraries with a fixed seed (reproducible; set
 * PALISADE_FUZZ_SEED to explore others) and sent 16 at a time over keep-alive connections.
 * PALISADE_FUZZ_SCALE multiplies the number of requests.
 */

const SEED = Number(process.env.PALISADE_FUZZ_SEED ?? 20_261_123);
const SCALE = Number(process.env.PALISADE_FUZZ_SCALE ?? 1);
const CONCURRENCY = 16;

let gateway: GatewayStack<HardeningUpstream>;
let appKey: string;
let agent: Agent;
let port: number;
let sent = 0;
/** How often each outcome ("200", "400 invalid_request", ...) was seen: the fuzzer must reach deep. */
const outcomes = new Map<string, number>();

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | null;
  /** Send without content-length (chunked). */
  readonly chunked: boolean;
}

interface FuzzAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function send(fuzz: FuzzRequest): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...fuzz.headers };
    if (fuzz.body !== null && !fuzz.chunked) headers["content-length"] = String(fuzz.body.byteLength);
    const call = request({ agent, host: "127.0.0.1", port, method: fuzz.method, path: fuzz.path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    call.setTimeout(20_000, () => call.destroy(new Error("no answer within 20 s")));
    call.on("error", reject);
    if (fuzz.body !== null) call.write(fuzz.body);
    call.end();
  });
}

/** What is wrong with an answer, or null when it keeps the contract. */
function violation(fuzz: FuzzRequest, answer: FuzzAnswer): string | null {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (answer.status < 400) return answer.status >= 200 ? null : `status ${answer.status}`;
  if (fuzz.method === "HEAD") return null;
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString("utf8"));
  } catch {
    return `status ${answer.status} with a body that is not JSON`;
  }
  if (!isOpenAiError(json)) return `status ${answer.status} with a body not in the OpenAI error shape`;
  // The contract covers /api/v1/*; the path as the server sees it (dot segments resolved).
  if (!new URL(fuzz.path, "http://127.0.0.1").pathname.startsWith("/api/v1/")) return null;
  if (!answer.headers["x-request-id"]) return `status ${answer.status} (${json.error.code}) without x-request-id`;
  if (answer.headers["x-ms-error-code"] !== json.error.code) return `status ${answer.status} (${json.error.code}) with x-ms-error-code ${String(answer.headers["x-ms-error-code"])}`;
  return null;
}

function describeRequest(fuzz: FuzzRequest): string {
  const body = fuzz.body === null ? "no body" : `${fuzz.body.byteLength} bytes: ${JSON.stringify(fuzz.body.subarray(0, 160).toString("utf8"))}`;
  const headers = Object.entries(fuzz.headers).map(([name, value]) => `${name}=${JSON.stringify(name === "authorization" || name === "api-key" ? "<credential>" : value).slice(0, 60)}`);
  return `${fuzz.method} ${fuzz.path.slice(0, 80)} [${headers.join(" ")}] ${fuzz.chunked ? "chunked " : ""}${body}`;
}

/** Sends every sample, 16 at a time; returns the first violations found (with what caused them). */
async function fuzz(arbitrary: fc.Arbitrary<FuzzRequest>, runs: number, seed: number): Promise<string[]> {
  const samples = fc.sample(arbitrary, { numRuns: Math.max(1, Math.round(runs * SCALE)), seed });
  const violations: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const sample = samples[next++];
      if (sample === undefined) break;
      let problem: string | null;
      try {
        const answer = await send(sample);
        problem = violation(sample, answer);
        const text = answer.status >= 400 && sample.method !== "HEAD" ? answer.body.toString("utf8") : "";
        const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
        const param = /"param":"([^"]{1,40})"/.exec(text)?.[1];
        const outcome = code ? `${answer.status} ${code}${param ? ` (${param})` : ""}` : String(answer.status);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      } catch (error) {
        problem = `no answer: ${error instanceof Error ? error.message : String(error)}`;
      }
      sent += 1;
      if (problem !== null && violations.length < 10) violations.push(`${problem} <- ${describeRequest(sample)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return violations;
}

// ---- Arbitraries ----

const ODD = [
  "\u0000", "\uD800", "\uDFFF", "\uDBFF\uDC00", "\u202E", "\u202D", "\u200F", "\u200B", "\u200D", "\uFEFF", "\u0301\u0301\u0301",
  "\u2028", "\u2029", "\uFFFF", "\uFFFE", "\u{1D7D2}", "\uFF14\uFF11\uFF11\uFF11", "\u0664\u0661", "\u{10437}", "\u{1F4A9}",
  "\\", "\"", "\\u0000", "<script>", "'; DROP TABLE keys; --", "${process.env}", "%s%n", "\r\n", "[[", "]]", "{{", "__proto__",
];
const oddChar = fc.constantFrom(...ODD);
/** Text mixing ordinary characters, full Unicode and the odd ones above. */
const oddText = (maxLength = 40): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof({ arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }), weight: 3 }, { arbitrary: oddChar, weight: 2 }, { arbitrary: fc.string({ unit: "binary", maxLength: 4 }), weight: 1 }), { maxLength })
    .map((parts) => parts.join(""));
/** A header value Node will send (tab, printable ASCII, Latin-1). */
const headerText = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((code) => String.fromCharCode(code)), maxLength: 60 });

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 53, "1", "", "NaN", "Infinity", [], {}),
  oddText(20),
  fc.jsonValue({ maxDepth: 3 }),
);
const wrongOr = <T>(valid: fc.Arbitrary<T>, weight = 3): fc.Arbitrary<unknown> => fc.oneof({ arbitrary: valid, weight }, { arbitrary: anyValue, weight: 1 });

const part = fc.oneof(
  fc.record({ type: fc.constant("text"), text: wrongOr(oddText(), 4) }),
  fc.record({ type: fc.constant("image_url"), image_url: wrongOr(fc.record({ url: wrongOr(fc.webUrl()), detail: fc.option(oddText(5)) })) }),
  fc.record({ type: wrongOr(fc.string({ maxLength: 12 })), extra: anyValue }),
  anyValue,
);
const content = fc.oneof(
  { arbitrary: oddText(), weight: 5 },
  { arbitrary: fc.array(part, { maxLength: 4 }), weight: 2 },
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: fc.string({ minLength: 2_000, maxLength: 8_000 }), weight: 1 },
  { arbitrary: anyValue, weight: 1 },
);
const role = fc.oneof({ arbitrary: fc.constantFrom("system", "developer", "user", "assistant", "tool", "function"), weight: 6 }, { arbitrary: anyValue, weight: 1 });
const message = fc.oneof(
  { arbitrary: fc.record({ role, content }, { requiredKeys: [] }), weight: 8 },
  {
    arbitrary: fc.record(
      {
        role,
        content,
        name: wrongOr(fc.string({ maxLength: 300 })),
        tool_calls: wrongOr(fc.array(fc.record({ id: wrongOr(fc.string()), type: wrongOr(fc.constant("function")), function: wrongOr(fc.record({ name: wrongOr(fc.string()), arguments: wrongOr(oddText()) })) }), { maxLength: 2 })),
        tool_call_id: wrongOr(fc.string()),
        [`x${"y".repeat(3)}`]: anyValue,
      },
      { requiredKeys: ["role"] },
    ),
    weight: 2,
  },
  { arbitrary: anyValue, weight: 1 },
);
const chatBody = fc.record(
  {
    model: fc.oneof({ arbitrary: fc.constant(MODEL), weight: 8 }, { arbitrary: fc.constantFrom("gpt-4o", "", "GPT-4O-MINI", `${MODEL}\u0000`, "x".repeat(300)), weight: 1 }, { arbitrary: anyValue, weight: 1 }),
    messages: fc.oneof({ arbitrary: fc.array(message, { minLength: 1, maxLength: 6 }), weight: 8 }, { arbitrary: fc.array(message, { maxLength: 40 }), weight: 1 }, { arbitrary: anyValue, weight: 1 }),
    stream: wrongOr(fc.boolean()),
    stream_options: wrongOr(fc.option(fc.record({ include_usage: wrongOr(fc.boolean()) }))),
    max_tokens: wrongOr(fc.option(fc.integer({ min: 1, max: 2_000 }))),
    max_completion_tokens: wrongOr(fc.option(fc.integer({ min: 1, max: 2_000 }))),
    temperature: wrongOr(fc.option(fc.double({ min: 0, max: 2, noNaN: true }))),
    top_p: wrongOr(fc.option(fc.double({ min: 0, max: 1, noNaN: true }))),
    n: wrongOr(fc.option(fc.integer({ min: 1, max: 16 }))),
    user: wrongOr(fc.string({ maxLength: 600 })),
    tools: anyValue,
    response_format: anyValue,
    metadata: anyValue,
  },
  { requiredKeys: [] },
);

/** Well-formed requests with odd content: these get past validation into DLP, limits, routing and the upstream. */
const validChatBody = fc.record(
  {
    model: fc.constant(MODEL),
    messages: fc.array(
      fc.record({
        role: fc.constantFrom("system", "user", "assistant"),
        content: fc.oneof(oddText(60), fc.array(fc.record({ type: fc.constant("text"), text: oddText(30) }), { minLength: 1, maxLength: 3 })),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 1, max: 1_024 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    user: fc.string({ maxLength: 40 }),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), oddText(10), { maxKeys: 3 }),
  },
  { requiredKeys: ["model", "messages"] },
);

const credential = (): fc.Arbitrary<Record<string, string | string[]>> =>
  fc.oneof(
    { arbitrary: fc.constant({ authorization: `Bearer ${appKey}` }), weight: 16 },
    { arbitrary: fc.constant({ "api-key": appKey }), weight: 2 },
    { arbitrary: fc.constant({}), weight: 1 },
    { arbitrary: headerText.map((text) => ({ authorization: text })), weight: 1 },
    { arbitrary: headerText.map((text) => ({ authorization: `Bearer pal_${text}` })), weight: 1 },
    { arbitrary: headerText.map((text) => ({ authorization: [`Bearer ${appKey}`, `Bearer ${text}`] })), weight: 1 },
    { arbitrary: headerText.map((text) => ({ "api-key": [text, appKey] })), weight: 1 },
    { arbitrary: headerText.map((text) => ({ authorization: `Bearer ${text}.${text}.${text}` })), weight: 1 },
  );
const contentType = fc.oneof(
  { arbitrary: fc.constant<Record<string, string | string[]>>({ "content-type": "application/json" }), weight: 16 },
  {
    arbitrary: fc
      .constantFrom("application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json", "")
      .map((value): Record<string, string | string[]> => ({ "content-type": value })),
    weight: 2,
  },
  { arbitrary: fc.constant<Record<string, string | string[]>>({}), weight: 1 },
  { arbitrary: fc.constant<Record<string, string | string[]>>({ "content-type": ["application/json", "text/plain"] }), weight: 1 },
  { arbitrary: headerText.map((value): Record<string, string | string[]> => ({ "content-type": value })), weight: 1 },
);
/** Mostly a valid value, sometimes any header text. */
const mostly = (...valid: string[]): fc.Arbitrary<string> => fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 5 }, { arbitrary: headerText, weight: 1 });
const extraHeaders = fc.record(
  {
    "x-data-classification": mostly("public", "internal", "confidential", "pii", "phi", "PII", "secret", ""),
    "x-palisade-residency": mostly("eu", "eu", "us", "global", "mars"),
    "x-request-id": mostly("abcdefgh-1234", "short", "x".repeat(200), "a\u00e9b-12345678"),
    traceparent: mostly("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", `00-${"0".repeat(32)}-${"0".repeat(16)}-00`),
    "x-forwarded-for": mostly("10.0.0.1", "::1", "1.2.3.4, 5.6.7.8", "999.1.1.1", "", "::ffff:127.0.0.1", "fe80::1%eth0"),
    "accept-encoding": fc.constantFrom("gzip", "br", "identity", "*"),
    accept: fc.constantFrom("text/event-stream", "application/json", "*/*", "text/html"),
  },
  { requiredKeys: [] },
).chain((headers) =>
  // The project, by either header (OpenAI's or Palisade's), by both, or by both naming different ones.
  fc
    .oneof(
      { arbitrary: fc.constant({}), weight: 6 },
      { arbitrary: mostly("acme", "acme", "other", "nope").map((project) => ({ "openai-project": project })), weight: 2 },
      { arbitrary: mostly("acme", "other").map((project) => ({ "x-palisade-project": project })), weight: 1 },
      { arbitrary: fc.tuple(mostly("acme", "other"), mostly("acme", "nope")).map(([a, b]) => ({ "openai-project": a, "x-palisade-project": b })), weight: 1 },
    )
    .map((project) => ({ ...headers, ...project })),
);

/** Nesting depth in passed-through fields the generic fuzz uses; deeper is a known bug (see below). */
const PASSTHROUGH_DEPTH = 500;

const jsonBuffer = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? "null", "utf8");

const chatRequest = (body: fc.Arbitrary<Buffer | null>, options: { headers?: boolean } = {}): fc.Arbitrary<FuzzRequest> =>
  fc
    .tuple(body, credential(), contentType, options.headers === false ? fc.constant({}) : extraHeaders, fc.boolean())
    .map(([requestBody, auth, type, extra, chunked]) => ({
      method: "POST",
      path: "/api/v1/chat/completions",
      headers: { ...type, ...auth, ...(extra as Record<string, string>) },
      body: requestBody,
      chunked,
    }));

/** Raw bodies: random bytes (invalid UTF-8 included), strings, JSON values, truncated and broken JSON, empty. */
const rawBody = fc.oneof(
  fc.uint8Array({ maxLength: 2_048 }).map((bytes) => Buffer.from(bytes)),
  oddText(200).map((text) => Buffer.from(text, "utf8")),
  fc.jsonValue({ maxDepth: 6 }).map(jsonBuffer),
  chatBody.chain((body) => {
    const text = JSON.stringify(body);
    return fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((cut) => Buffer.from(text.slice(0, cut), "utf8"));
  }),
  // Raw lone-surrogate (CESU-8) and other invalid byte sequences inside an otherwise valid request.
  fc.constantFrom([0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff, 0xfe], [0x00], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x80, 0xae]).map((bytes) =>
    Buffer.concat([Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"a`), Buffer.from(bytes), Buffer.from(`b"}]}`)]),
  ),
  fc.constantFrom("", " ", "\n", "null", "[]", "{}", "0", "\"x\"", "{\"model\":", "{'model':'x'}", "{\"a\":1,}", "NaN", "\uFEFF{}").map((text) => Buffer.from(text, "utf8")),
  fc.constant(null),
);

/** Sizes and depth: bodies just under and over the limit, and nesting thousands of levels deep. */
const sizeAndDepthBody = fc.oneof(
  fc.integer({ min: -512, max: 512 }).map((delta) => {
    const shell = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "" }] });
    // Words, not one unbroken run: see the known-bug test on long runs below.
    const size = Math.max(0, MAX_BODY_BYTES + delta - shell.length);
    return Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "lorem ipsum dolor sit amet ".repeat(Math.ceil(size / 27)).slice(0, size) }] }), "utf8");
  }),
  fc.integer({ min: -256, max: 256 }).map((delta) => {
    // Multi-byte characters, so bytes and characters differ near the limit.
    const shell = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "" }] });
    return Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "\u20ac\u00e9 ".repeat(Math.max(0, Math.floor((MAX_BODY_BYTES + delta - shell.length) / 6))) }] }), "utf8");
  }),
  fc.tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom("[", "{\"a\":")).map(([depth, open]) => {
    const close = open === "[" ? "]" : "}";
    const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return Buffer.from(nested.length > MAX_BODY_BYTES ? nested.slice(0, MAX_BODY_BYTES) : nested, "utf8");
  }),
  fc.tuple(fc.integer({ min: 1, max: PASSTHROUGH_DEPTH }), fc.constantFrom("metadata", "tools", "content", "extra")).map(([depth, where]) => {
    // Nesting inside an otherwise valid request: fields the gateway passes through untouched (deeper: see the known bug below).
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const text =
      where === "content"
        ? `{"model":"${MODEL}","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"other","deep":${nested}}]}]}`
        : `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"${where}":${nested}}`;
    return Buffer.from(text, "utf8");
  }),
  fc.integer({ min: 1, max: 4_000 }).map((count) => jsonBuffer({ model: MODEL, messages: Array.from({ length: count }, () => ({ role: "user", content: "x" })) })),
  fc.integer({ min: 1, max: 3_000 }).map((count) => Buffer.from(`{${Array.from({ length: count }, (_, index) => `"k${index}":${index}`).join(",")},"model":"${MODEL}","messages":[{"role":"user","content":"hi"}]}`, "utf8")),
  fc.constant(Buffer.from(`{"model":"${MODEL}","model":"gpt-4o","messages":[{"role":"user","content":"duplicate keys"}]}`, "utf8")),
);

const methodPathHeaders: () => fc.Arbitrary<FuzzRequest> = () =>
  fc
    .tuple(
      fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
      fc.oneof(
        { arbitrary: fc.constant("/api/v1/chat/completions"), weight: 4 },
        {
          arbitrary: fc.constantFrom(
            "/api/v1/models",
            "/api/v1",
            "/api/v1/chat/completions/",
            "/api/v1//chat/completions",
            "/api/v1/chat/completions/extra",
            "/api/v1/completions",
            "/api/v1/embeddings",
            "/api/v1/../v1/chat/completions",
            "/api/v1/%2e%2e/admin",
            "/api/v1/chat/completions?api-version=2024-10-21&x=%00",
            "/api/v1/models?%ZZ",
            "/api/openai/v1/models",
            "/api/openai/v1/models/%ZZ",
            "/api/openai/v1/models/..%2F..%2Fmanage",
            "/api/openai/models?api-version=%00",
            "/api/openai/models/gpt-4o-mini?api-version=2024-10-21",
            "/api/openai/deployments?api-version=2022-12-01",
            "/api/V1/CHAT/COMPLETIONS",
            "/api/healthz",
            "/api/healthz?x=1",
          ),
          weight: 4,
        },
        { arbitrary: fc.webSegment().filter((segment) => segment.length > 0).map((segment) => `/api/v1/${segment}`), weight: 2 },
      ),
      credential(),
      contentType,
      extraHeaders,
      fc.oneof(chatBody.map(jsonBuffer), fc.constant(null), rawBody),
    )
    .map(([method, path, auth, type, extra, body]) => ({
      method,
      path,
      headers: { ...type, ...auth, ...(extra as Record<string, string>) },
      body: method === "GET" || method === "DELETE" ? (body !== null && body.byteLength % 3 === 0 ? body : null) : body,
      chunked: false,
    }));

beforeAll(async () => {
  gateway = await startGatewayStack({ upstreams: HARDENING_UPSTREAMS, policy: (urls) => hardeningPolicy(urls) });
  appKey = await gateway.createKey("acme", "app");
  agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  port = gateway.host.port;
}, 90_000);

afterAll(async () => {
  agent?.destroy();
  await gateway?.stop();
});

describe("fuzzing the HTTP surface: no 5xx, no crash, every refusal well formed", () => {
  it("near-valid chat requests with wrong types, odd Unicode and odd headers in every field", async () => {
    const body = fc.oneof({ arbitrary: chatBody, weight: 1 }, { arbitrary: validChatBody, weight: 1 }).map(jsonBuffer);
    expect(await fuzz(chatRequest(body), 6_000, SEED)).toEqual([]);
  }, 120_000);

  it("raw bodies: bytes, invalid UTF-8, strings, JSON values, truncated and broken JSON, none", async () => {
    expect(await fuzz(chatRequest(rawBody), 2_500, SEED + 1)).toEqual([]);
  }, 120_000);

  it("bodies around the size limit and nested thousands of levels deep", async () => {
    expect(await fuzz(chatRequest(sizeAndDepthBody, { headers: false }), 500, SEED + 2)).toEqual([]);
  }, 120_000);

  it("methods, paths, content types, missing and duplicated headers", async () => {
    expect(await fuzz(methodPathHeaders(), 1_500, SEED + 3)).toEqual([]);
  }, 120_000);

  it("sent over 10,000 requests that reached every stage, and the gateway is healthy afterwards", async () => {
    process.stderr.write(`fuzz outcomes (${sent} requests): ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}\n`);
    expect(sent).toBeGreaterThanOrEqual(Math.round(10_000 * Math.min(SCALE, 1)));
    // Every stage was reached: served, refused by each layer in turn.
    const seen = [...outcomes.keys()];
    for (const outcome of ["200", "400 invalid_json", "400 invalid_request (messages", "401 missing_api_key", "401 invalid_api_key", "403 not_a_project_member", "403 model_not_allowed", "404 not_found", "413 request_too_large", "415 unsupported_media_type"]) {
      expect(seen.some((key) => key.startsWith(outcome)), outcome).toBe(true);
    }
    expect(outcomes.get("200") ?? 0).toBeGreaterThan(sent / 20);
    const health = await fetch(`${gateway.host.url}/healthz`);
    expect(health.status).toBe(200);
    const completion = await fetch(`${gateway.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${appKey}` },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "still there?" }] }),
    });
    expect(completion.status).toBe(200);
    const body = (await completion.json()) as { choices?: { message?: { content?: string } }[] };
    expect(body.choices?.[0]?.message?.content).toContain("mock completion");
  });
});

/** Bugs the fuzzer found, now fixed; each test states the contract it broke (docs/benchmarks.md, "Hardening findings"). */
describe("findings of the fuzzer, fixed", () => {
  const post = (body: string, path = "/api/v1/chat/completions"): Promise<FuzzAnswer> =>
    send({ method: "POST", path, headers: { "content-type": "application/json", authorization: `Bearer ${appKey}` }, body: Buffer.from(body, "utf8"), chunked: false });

  it("nesting 10,000 levels deep in a passed-through field is refused with a 4xx (was: 502, counted against healthy endpoints)", async () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const answer = await post(`{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`);
    expect(violation({ method: "POST", path: "/api/v1/chat/completions", headers: {}, body: null, chunked: false }, answer)).toBeNull();
    expect(answer.status).toBeLessThan(500);
  });

  it("an empty path under /api/v1/ gets the OpenAI error with x-request-id", async () => {
    const answer = await send({ method: "GET", path: "/api/v1/", headers: {}, body: null, chunked: false });
    expect(violation({ method: "GET", path: "/api/v1/", headers: {}, body: null, chunked: false }, answer)).toBeNull();
  });

  it("OPTIONS and HEAD under /api/v1 get the OpenAI error with x-request-id", async () => {
    for (const method of ["OPTIONS", "HEAD"]) {
      const request: FuzzRequest = { method, path: "/api/v1/chat/completions", headers: {}, body: null, chunked: false };
      const answer = await send(request);
      expect(answer.headers["x-request-id"]).toBeTruthy();
      expect(answer.headers["x-ms-error-code"]).toBe("not_found");
      expect(violation(request, answer)).toBeNull();
    }
  });

  it("a malformed percent-encoding in the path is a 4xx (was: the local host answered 500)", async () => {
    const request: FuzzRequest = { method: "GET", path: "/api/v1/%E0%A4%A", headers: {}, body: null, chunked: false };
    expect(violation(request, await send(request))).toBeNull();
  });

  // The token estimate was quadratic in a run's length (~5 s of CPU for 64 KB); its linear bound is
  // unit-tested in test/core/limits/estimatePromptTokens.test.ts, and speed belongs to npm run bench.
  it("a prompt of one run without whitespace, near the body limit, is served", async () => {
    const answer = await post(JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "a".repeat(MAX_BODY_BYTES - 100) }] }));
    expect(answer.status).toBe(200);
  }, 60_000);
});
