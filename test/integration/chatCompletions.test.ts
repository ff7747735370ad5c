import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningJwksServer, startJwksServer } from "../support/jwks.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { UPSTREAMS, type UpstreamName, integrationPolicy } from "./policyFixture.js";

let jwks: RunningJwksServer;
let gateway: GatewayStack<UpstreamName>;
let appKey: string;

const client = (apiKey: string, options: { project?: string; headers?: Record<string, string> } = {}): OpenAI =>
  new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000, ...(options.project ? { project: options.project } : {}), defaultHeaders: options.headers ?? {} });

const ask = (apiKey: string, content = "hello", extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}, options: { project?: string; headers?: Record<string, string> } = {}) =>
  client(apiKey, options).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }], ...extra });

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(APIError);
  const apiError = error as APIError;
  expect({ status: apiError.status, code: apiError.code }).toEqual({ status, code });
  expect(apiError.headers?.get("x-request-id")).toBeTruthy();
  expect(apiError.headers?.get("x-ms-error-code")).toBe(code);
  return apiError;
}

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; body: { error?: { code: string; param: string | null; message: string } } }> {
  const response = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", body, headers });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; param: string | null; message: string } } };
}

beforeAll(async () => {
  jwks = await startJwksServer();
  gateway = await startGatewayStack({ upstreams: UPSTREAMS, policy: (urls) => integrationPolicy(urls, jwks.entra) });
  appKey = await gateway.createKey("acme", "app");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await jwks?.stop();
});

describe("the governed completion through the official openai client", () => {
  it("returns a completion with the headers that say how it was governed", async () => {
    const { data, response } = await ask(appKey).withResponse();
    expect(data.choices[0]?.message.content).toBe("This is a mock completion from eu-west-standard (westeurope).");
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-request-id")).toMatch(/.{8,}/);
    expect(response.headers.get("x-palisade-classification")).toBe("internal");
    expect(response.headers.get("x-palisade-region")).toBe("westeurope");
    expect(response.headers.get("x-palisade-endpoint-class")).toBe("standard");
    const upstream = gateway.mocks.euWestStandard.requests().at(-1);
    expect(upstream?.deployment).toBe("gpt-4o-mini");
  });

  it("streams a completion as server-sent events", async () => {
    const stream = await client(appKey).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "stream please" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("This is a mock completion from eu-west-standard (westeurope).");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("lists the models this caller may use", async () => {
    const models = await client(appKey).models.list();
    expect(models.data.map((model) => model.id)).toEqual(["gpt-4o-mini"]);
  });

  it("sends redacted text, not the original, to the model", async () => {
    const { response } = await ask(appKey, "Charge my card 4111 1111 1111 1111 please").withResponse();
    expect(Number(response.headers.get("x-palisade-redactions"))).toBeGreaterThanOrEqual(1);
    const sent = JSON.stringify(gateway.mocks.euWestStandard.requests().at(-1)?.body);
    expect(sent).toContain("[CREDIT_CARD_1]");
    expect(sent).not.toContain("4111 1111 1111 1111");
  });

  it("routes data declared as pii only to zero-data-retention endpoints in the project's residency", async () => {
    const { response } = await ask(appKey, "about a patient", {}, { headers: { "x-data-classification": "pii" } }).withResponse();
    expect(response.headers.get("x-palisade-endpoint-class")).toBe("zdr");
    expect(response.headers.get("x-palisade-region")).toBe("westeurope");
  });

  it("fails over to the EU secondary when the EU primary fails, and never to the US", async () => {
    gateway.mocks.euWestZdr.setFault({ status: 500, times: 1 });
    const usBefore = gateway.mocks.usEastStandard.requests().length;
    const { response } = await ask(appKey, "failover", {}, { headers: { "x-data-classification": "pii" } }).withResponse();
    expect(response.headers.get("x-palisade-region")).toBe("swedencentral");
    expect(gateway.mocks.usEastStandard.requests().length).toBe(usBefore);
  });
});

describe("when no compliant endpoint can serve", () => {
  it("both EU zero-data-retention endpoints down: 503 no_compliant_endpoint naming residency and class; never the US", async () => {
    gateway.mocks.euWestZdr.setFault({ status: 500, times: 1 });
    gateway.mocks.euNorthZdr.setFault({ status: 500, times: 1 });
    const usBefore = gateway.mocks.usEastStandard.requests().length;
    const error = await expectApiError(ask(appKey, "both down", {}, { headers: { "x-data-classification": "pii" } }), 503, "no_compliant_endpoint");
    expect(error.message).toMatch(/data class "pii" in residency "eu"/);
    expect(gateway.mocks.usEastStandard.requests().length).toBe(usBefore);
  });
});

describe("every refusal has its documented status and code", () => {
  it("no key: 401 missing_api_key", async () => {
    const result = await post(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }), { "content-type": "application/json" });
    expect(result.status).toBe(401);
    expect(result.body.error?.code).toBe("missing_api_key");
  });

  it("a key that does not exist or has the wrong secret: 401 invalid_api_key", async () => {
    await expectApiError(ask("pal_doesnotexist1_abcdefabcdefabcdefabcdefabcdefabcdefabcdefab"), 401, "invalid_api_key");
    const [prefix, keyId] = appKey.split("_");
    await expectApiError(ask(`${prefix}_${keyId}_${"x".repeat(43)}`), 401, "invalid_api_key");
  });

  it("an expired key: 401 expired_api_key", async () => {
    const key = await gateway.createKey("acme", "app", 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const error = await expectApiError(ask(key), 401, "expired_api_key");
    expect(error.message).toMatch(/expired/i);
  });

  it("a revoked key: 401 revoked_api_key", async () => {
    const key = await gateway.createKey("acme", "app");
    await ask(key);
    await gateway.revokeKey(key);
    await expectApiError(ask(key), 401, "revoked_api_key");
  });

  it("a reader: 403 insufficient_role", async () => {
    const token = await jwks.sign({ upn: "reader@example.com", oid: "00000000-0000-0000-0000-00000000000r" });
    await expectApiError(ask(token), 403, "insufficient_role");
  });

  it("a principal of another project: 403 not_a_project_member", async () => {
    const token = await jwks.sign({ upn: "outsider@example.com", oid: "00000000-0000-0000-0000-00000000000o" });
    await expectApiError(ask(token, "hi", {}, { project: "acme" }), 403, "not_a_project_member");
    const otherKey = await gateway.createKey("other", "other-app");
    await expectApiError(ask(otherKey, "hi", {}, { project: "acme" }), 403, "not_a_project_member");
  });

  it("an owner with an Entra token is served", async () => {
    const token = await jwks.sign({ upn: "owner@example.com", oid: "00000000-0000-0000-0000-0000000000aa" });
    const completion = await ask(token);
    expect(completion.choices[0]?.message.content).toContain("mock completion");
  });

  it("a service account without the permission: 403 missing_permission", async () => {
    await expectApiError(ask(await gateway.createKey("acme", "lister")), 403, "missing_permission");
  });

  it("a caller outside the IP allowlist: 403 ip_not_allowed, and x-forwarded-for cannot spoof it", async () => {
    const key = await gateway.createKey("acme", "remote");
    await expectApiError(ask(key), 403, "ip_not_allowed");
    await expectApiError(ask(key, "hi", {}, { headers: { "x-forwarded-for": "10.1.2.3" } }), 403, "ip_not_allowed");
  });

  it("a model the project does not allow: 403 model_not_allowed, naming the allowed ones", async () => {
    const error = await expectApiError(client(appKey).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }), 403, "model_not_allowed");
    expect(error.message).toContain("gpt-4o-mini");
  });

  it("bad input: 415, 413, 400 with param, never a 500", async () => {
    const auth = { authorization: `Bearer ${appKey}` };
    expect((await post("hello", { ...auth, "content-type": "text/plain" })).status).toBe(415);
    const huge = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(1_100_000) }] });
    expect((await post(huge, { ...auth, "content-type": "application/json" })).status).toBe(413);
    const notJson = await post("{not json", { ...auth, "content-type": "application/json" });
    expect([notJson.status, notJson.body.error?.code]).toEqual([400, "invalid_json"]);
    const noMessages = await post(JSON.stringify({ model: "gpt-4o-mini" }), { ...auth, "content-type": "application/json" });
    expect([noMessages.status, noMessages.body.error?.param]).toEqual([400, "messages"]);
    const tooMany = await post(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 999_999 }), { ...auth, "content-type": "application/json" });
    expect([tooMany.status, tooMany.body.error?.param]).toEqual([400, "max_tokens"]);
  });
});
