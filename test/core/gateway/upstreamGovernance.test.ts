import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { outputCapField } from "../../../src/core/gateway/operations/chat/chatOperation.js";
import { type ProjectInput, gatewayHarness, jsonResponse, refusalOf } from "./gatewayHarness.js";

/**
 * What the pipeline decides about the upstream call itself, checked against what the mock upstream
 * received: the output cap (issue 18 item 4), the upstream's own 4xx codes (item 8), parts that cannot
 * be inspected, and the pseudonymous `user`.
 */
let mock: RunningMockOpenAi;
beforeAll(async () => {
  mock = await startMockOpenAi({ name: "mock-eu", region: "westeurope" });
});
afterAll(async () => mock.stop());
afterEach(() => mock.clearRequests());

const harness = (project: Partial<ProjectInput> = {}) =>
  gatewayHarness({
    project: { cache: undefined, ...project },
    cache: false,
    policy: { endpoints: [{ id: "mock-eu", provider: "azure", baseUrl: mock.url, region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 }] },
    upstream: new OpenAiCompletionProvider({ credential: null, readApiKey: null }),
  });
const received = (): Record<string, unknown> => mock.requests().at(-1)?.body ?? {};
const withoutMaxTokens = (h: Awaited<ReturnType<typeof harness>>) => {
  const request = h.request();
  const { max_tokens: _drop, ...body } = request.body as Record<string, unknown>;
  return { ...request, body };
};

describe("the output cap sent upstream", () => {
  it("is the reservation when the caller sets none: the project's maxTokens", async () => {
    const h = await harness();
    await h.service.handle(withoutMaxTokens(h));
    expect(received().max_tokens).toBe(1024);
    expect(received()).not.toHaveProperty("max_completion_tokens");
  });

  it("is the project's smaller defaultMaxTokens when set, and the reservation says the same", async () => {
    const h = await harness({ defaultMaxTokens: 200 });
    await h.service.handle(withoutMaxTokens(h));
    expect(received().max_tokens).toBe(200);
    const admitted = h.audit.events.find((event) => event.type === "request_admitted");
    expect(Number(admitted?.details?.reservedTokens)).toBeLessThan(300);
  });

  it("is the caller's own when it sent one (max_tokens or max_completion_tokens), unchanged", async () => {
    const h = await harness();
    await h.service.handle(h.request({ extraBody: { max_tokens: 50 } }));
    expect(received()).toMatchObject({ max_tokens: 50 });
    expect(received()).not.toHaveProperty("max_completion_tokens");
    await h.service.handle(h.request({ extraBody: { max_tokens: undefined, max_completion_tokens: 60 } }));
    expect(received()).toMatchObject({ max_completion_tokens: 60 });
    expect(received()).not.toHaveProperty("max_tokens");
  });

  it("uses max_completion_tokens for reasoning models, which refuse max_tokens", () => {
    expect(outputCapField("o3-mini")).toBe("max_completion_tokens");
    expect(outputCapField("gpt-5")).toBe("max_completion_tokens");
    expect(outputCapField("gpt-4o-mini")).toBe("max_tokens");
  });
});

describe("an upstream 4xx keeps its code, with a message of Palisade's own", () => {
  it.each([
    ["content_filter", "content_filter"],
    ["context_length_exceeded", "context_length_exceeded"],
    ["invalid_value", "upstream_invalid_request"],
  ])("upstream code %s -> %s, recorded after the upstream call", async (upstreamCode, code) => {
    const h = await harness();
    const error = await refusalOf(h.service.handle(h.request({ content: `tell me [[mock:status=400,code=${upstreamCode}]]` })));
    expect([error.status, error.code]).toEqual([400, code]);
    expect(error.message).not.toContain("injected fault");
    expect(error.message).not.toContain("tell me");
    if (code === "upstream_invalid_request") expect(error.message).toContain(upstreamCode);
    // Azure's own content filter is recorded as content safety's decision (issue 20), with the source named upstream.
    const type = code === "content_filter" ? "content_filtered" : "api_call";
    const event = h.audit.events.find((candidate) => candidate.type === type);
    expect(event).toMatchObject({ status: "blocked", httpStatus: 400, reason: code, details: { upstreamStatus: 400, upstreamCode, endpointId: "mock-eu" } });
    if (code === "content_filter") expect(event?.details).toMatchObject({ safetySource: "upstream" });
  });
});

describe("parts DLP cannot inspect (images)", () => {
  const image = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };
  const withImage = (h: Awaited<ReturnType<typeof harness>>, dataClassHeader?: string) =>
    h.request({ ...(dataClassHeader ? { dataClassHeader } : {}), extraBody: { messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, image] }] } });

  it("are refused for pii (and phi) unless the project allows them, and nothing goes upstream", async () => {
    const h = await harness();
    const error = await refusalOf(h.service.handle(withImage(h, "pii")));
    expect([error.status, error.code]).toEqual([422, "uninspectable_content"]);
    expect(mock.requests()).toHaveLength(0);
    expect(h.audit.events.at(-1)).toMatchObject({ type: "pii_detected", reason: "uninspectable_content" });
  });

  it("are refused for every class by default (nothing goes upstream unread unless the project opts in), and pass when it says allow", async () => {
    const defaults = await harness();
    expect((await refusalOf(defaults.service.handle(withImage(defaults)))).code).toBe("uninspectable_content");
    expect(mock.requests()).toHaveLength(0);
    const allowing = await harness({ uninspectableInputs: "allow" });
    expect(jsonResponse(await allowing.service.handle(withImage(allowing, "pii"))).status).toBe(200);
    expect(JSON.stringify(received())).toContain("image_url");
  });

  it("are refused for every class when the project says deny", async () => {
    const h = await harness({ uninspectableInputs: "deny" });
    expect((await refusalOf(h.service.handle(withImage(h)))).code).toBe("uninspectable_content");
  });
});

describe("stop sequences", () => {
  it("are inspected like the prompt: a card in one is redacted before it goes upstream (it went as sent)", async () => {
    const h = await harness();
    await h.service.handle(h.request({ extraBody: { stop: ["END", "card 4111 1111 1111 1111"] } }));
    expect(received().stop).toEqual(["END", "card [CREDIT_CARD_1]"]);
    await h.service.handle(h.request({ extraBody: { stop: "4111 1111 1111 1111" } }));
    expect(received().stop).toBe("[CREDIT_CARD_1]");
  });
});

describe("the user field", () => {
  it("goes upstream as a stable pseudonym per project, never as sent", async () => {
    const h = await harness();
    await h.service.handle(h.request({ extraBody: { user: "alice@example.com" } }));
    const first = received().user;
    await h.service.handle(h.request({ extraBody: { user: "alice@example.com" } }));
    expect(received().user).toBe(first);
    await h.service.handle(h.request({ extraBody: { user: "bob@example.com" } }));
    expect(received().user).not.toBe(first);
    expect(first).toMatch(/^pal-[0-9a-f]{32}$/);
    expect(JSON.stringify(mock.requests())).not.toContain("example.com");
  });

  it("safety_identifier and prompt_cache_key (user ids beside `user`) go upstream as the same stable pseudonyms, never as sent", async () => {
    const h = await harness();
    const identified = { safety_identifier: "alice@example.com", prompt_cache_key: "alice@example.com" };
    await h.service.handle(h.request({ extraBody: { ...identified, user: "alice@example.com" } }));
    const first = received();
    expect(first.safety_identifier).toMatch(/^pal-[0-9a-f]{32}$/);
    expect(first.prompt_cache_key).toBe(first.safety_identifier);
    expect(first.safety_identifier).toBe(first.user);
    await h.service.handle(h.request({ extraBody: identified }));
    expect(received().safety_identifier).toBe(first.safety_identifier);
    expect(JSON.stringify(mock.requests())).not.toContain("example.com");
    // Without a digest key there is no pseudonym: the fields are not sent.
    const keyless = await gatewayHarness({ project: { cache: undefined }, cache: false, digestKey: null, policy: { endpoints: [{ id: "mock-eu", provider: "azure", baseUrl: mock.url, region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 }] }, upstream: new OpenAiCompletionProvider({ credential: null, readApiKey: null }) });
    await keyless.service.handle(keyless.request({ extraBody: identified }));
    expect(received()).not.toHaveProperty("safety_identifier");
    expect(received()).not.toHaveProperty("prompt_cache_key");
  });
});
