import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { sayDirective } from "../../local/mockOpenAi/toolCalls.js";
import { apiErrorOf, waitForEvent } from "../support/openaiCalls.js";
import { useOperationsStack } from "./operationsPolicyFixture.js";

/**
 * `client.responses.compact` and `client.responses.inputTokens.count` through Palisade with the real
 * `openai` client (the platform's /v1 and Azure's v1 path): the input governed as a create's, the
 * continuation only of the project's own Response, the compacted output inspected, both audited.
 * `acme` redacts by default and allows no hosted tool; `open` and `neighbour` store Responses.
 */
const CARD = "4111 1111 1111 1111";
const running = useOperationsStack([
  ["acme", "app"],
  ["acme", "chat-only"],
  ["open", "open-app"],
  ["neighbour", "neighbour-app"],
]);

const platform = (apiKey: string): OpenAI => new OpenAI({ baseURL: running.stack().baseUrl, apiKey, maxRetries: 0, timeout: 15_000 });
const azureV1 = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${running.stack().host.url}/openai/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
const acme = (): OpenAI => platform(running.key("acme", "app"));
const upstream = () => running.stack().mocks.chat.requests();

describe("responses.compact through Palisade", () => {
  it("a card in the input is redacted before the upstream sees it; the compacted output comes back with its compaction item untouched; audited with its usage", async () => {
    const { data: compacted, response } = await acme()
      .responses.compact({ model: "gpt-4o-mini", input: [{ role: "user", content: `my card is ${CARD}` }], instructions: "keep the facts" })
      .withResponse();
    const sent = upstream();
    expect(sent.map((request) => request.path)).toEqual(["/openai/v1/responses/compact"]);
    expect(JSON.stringify(sent[0]?.body)).toContain("[CREDIT_CARD_1]");
    expect(JSON.stringify(sent[0]?.body)).not.toContain(CARD);
    // The deployment goes upstream, no output cap or store is added (the API has neither).
    expect(sent[0]?.body).toMatchObject({ model: "gpt-4o-mini" });
    expect(sent[0]?.body).not.toHaveProperty("max_output_tokens");
    expect(compacted.object).toBe("response.compaction");
    const last = compacted.output.at(-1) as { type: string; encrypted_content: string };
    expect(last.type).toBe("compaction");
    expect(last.encrypted_content).toMatch(/^[A-Za-z0-9+/]{128}$/);
    expect(JSON.stringify(compacted.output[0])).toContain("my card is [CREDIT_CARD_1]");

    const requestId = response.headers.get("x-request-id");
    const admitted = await waitForEvent("acme", (event) => event.requestId === requestId && event.type === "request_admitted");
    expect(admitted?.details).toMatchObject({ operation: "responses.compact" });
    const outcome = await waitForEvent("acme", (event) => event.requestId === requestId && event.type === "api_call");
    expect(outcome).toMatchObject({ status: "success", endpointId: "eu-chat", model: "gpt-4o-mini", details: expect.objectContaining({ operation: "responses.compact" }) });
    expect(outcome?.tokens).toEqual({ input: compacted.usage.input_tokens, cachedInput: 0, output: compacted.usage.output_tokens });
    expect(outcome?.costUsd).toBeGreaterThan(0);
    expect(JSON.stringify([admitted, outcome])).not.toContain(CARD);
  }, 30_000);

  it("a card the compacted output holds (the input never showed it) arrives redacted", async () => {
    const { data: compacted, response } = await acme()
      .responses.compact({ model: "gpt-4o-mini", input: `summarise ${sayDirective(`the card ${CARD}`)}` })
      .withResponse();
    expect(JSON.stringify(compacted)).not.toContain(CARD);
    expect(JSON.stringify(compacted.output[0])).toContain("the card [CREDIT_CARD_1]");
    expect(compacted.output.at(-1)?.type).toBe("compaction");
    expect(Number(response.headers.get("x-palisade-redactions"))).toBeGreaterThan(0);
  }, 30_000);

  it("the compacted output, sent back as the next create's input (an agent loop's next turn), passes: the compaction item reaches the upstream unchanged", async () => {
    const compacted = await acme().responses.compact({ model: "gpt-4o-mini", input: "a long conversation about refunds" });
    running.stack().mocks.chat.clearRequests();
    const next = await acme().responses.create({ model: "gpt-4o-mini", input: [...compacted.output, { role: "user", content: "and now?" }] as OpenAI.Responses.ResponseInput });
    expect(next.status).toBe("completed");
    const sent = upstream()[0]?.body.input as unknown[];
    expect(sent.find((item) => (item as { type?: string }).type === "compaction")).toEqual(compacted.output.at(-1));
  }, 30_000);

  it("another project's previous_response_id is 404 and never reaches the upstream; the maker compacts its own", async () => {
    const made = await platform(running.key("open", "open-app")).responses.create({ model: "gpt-4o-mini", input: "a long conversation" });
    running.stack().mocks.chat.clearRequests();
    const stolen = await apiErrorOf(platform(running.key("neighbour", "neighbour-app")).responses.compact({ model: "gpt-4o-mini", previous_response_id: made.id }));
    expect({ status: stolen.status, code: stolen.code, param: stolen.param }).toEqual({ status: 404, code: "response_not_found", param: "previous_response_id" });
    expect(upstream()).toEqual([]);
    const own = await platform(running.key("open", "open-app")).responses.compact({ model: "gpt-4o-mini", previous_response_id: made.id });
    expect(own.output.at(-1)?.type).toBe("compaction");
    expect(upstream()[0]?.body).toMatchObject({ previous_response_id: made.id });
    const refusal = await waitForEvent("neighbour", (event) => event.reason === "response_not_found" && event.details?.operation === "responses.compact");
    expect(refusal).toMatchObject({ type: "policy_violation", status: "blocked", httpStatus: 404 });
  }, 30_000);

  it("Azure's v1 path compacts the same way; a key without responses.create is 403, a model off the allowlist 403, a continuation where the project stores nothing 403; stream: true is 400", async () => {
    const compacted = await azureV1(running.key("acme", "app")).responses.compact({ model: "gpt-4o-mini", input: `card ${CARD}` });
    expect(compacted.output.at(-1)?.type).toBe("compaction");
    expect(upstream().map((request) => request.path)).toEqual(["/openai/v1/responses/compact"]);
    const denied = await apiErrorOf(platform(running.key("acme", "chat-only")).responses.compact({ model: "gpt-4o-mini", input: "hi" }));
    expect(denied.status).toBe(403);
    const streamed = await apiErrorOf(acme().post("/responses/compact", { body: { model: "gpt-4o-mini", input: "hi", stream: true } }));
    expect({ status: streamed.status, param: streamed.param }).toEqual({ status: 400, param: "stream" });
    const unknownModel = await apiErrorOf(acme().responses.compact({ model: "gpt-5-not-allowed", input: "hi" }));
    expect(unknownModel.status).toBe(403);
    // acme stores no Responses: nothing to continue, as for a create.
    const notStored = await apiErrorOf(acme().responses.compact({ model: "gpt-4o-mini", previous_response_id: "resp_anything" }));
    expect({ status: notStored.status, code: notStored.code, param: notStored.param }).toEqual({ status: 403, code: "response_storage_not_allowed", param: "previous_response_id" });
    expect(upstream()).toHaveLength(1);
  }, 30_000);
});

describe("responses.inputTokens.count through Palisade", () => {
  it("the count passes through; the upstream received the input redacted; one request audited with no tokens", async () => {
    const { data: counted, response } = await acme()
      .responses.inputTokens.count({ model: "gpt-4o-mini", input: `how long is ${CARD}?`, instructions: "be brief" })
      .withResponse();
    expect(counted).toEqual({ object: "response.input_tokens", input_tokens: expect.any(Number) as number });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const sent = upstream();
    expect(sent.map((request) => request.path)).toEqual(["/openai/v1/responses/input_tokens"]);
    expect(JSON.stringify(sent[0]?.body)).toContain("[CREDIT_CARD_1]");
    expect(JSON.stringify(sent[0]?.body)).not.toContain(CARD);

    const requestId = response.headers.get("x-request-id");
    const admitted = await waitForEvent("acme", (event) => event.requestId === requestId && event.type === "request_admitted");
    expect(admitted?.details).toMatchObject({ operation: "responses.input_tokens", reservedTokens: 0 });
    const outcome = await waitForEvent("acme", (event) => event.requestId === requestId && event.type === "api_call");
    expect(outcome).toMatchObject({ status: "success", details: expect.objectContaining({ operation: "responses.input_tokens" }) });
    expect(outcome?.tokens).toEqual({ input: 0, cachedInput: 0, output: 0 });
    expect(outcome?.costUsd).toBe(0);
  }, 30_000);

  it("another project's previous_response_id is 404; a hosted tool the project does not allow is 403; neither reaches the upstream", async () => {
    const made = await platform(running.key("open", "open-app")).responses.create({ model: "gpt-4o-mini", input: "a long conversation" });
    running.stack().mocks.chat.clearRequests();
    const stolen = await apiErrorOf(platform(running.key("neighbour", "neighbour-app")).responses.inputTokens.count({ model: "gpt-4o-mini", previous_response_id: made.id }));
    expect({ status: stolen.status, code: stolen.code }).toEqual({ status: 404, code: "response_not_found" });
    const hosted = await apiErrorOf(acme().responses.inputTokens.count({ model: "gpt-4o-mini", input: "hi", tools: [{ type: "web_search" }] }));
    expect({ status: hosted.status, code: hosted.code, param: hosted.param }).toEqual({ status: 403, code: "tool_not_allowed", param: "tools[0].type" });
    expect(upstream()).toEqual([]);
    // The maker's own continuation is counted, on Azure's v1 path too.
    const own = await azureV1(running.key("open", "open-app")).responses.inputTokens.count({ model: "gpt-4o-mini", previous_response_id: made.id, input: "and then?" });
    expect(own.input_tokens).toBeGreaterThan(0);
    expect(upstream().map((request) => request.path)).toEqual(["/openai/v1/responses/input_tokens"]);
  }, 30_000);
});
