import OpenAI, { AzureOpenAI } from "openai";
import { type ResponseStreamEvent } from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import { sayDirective } from "../../local/mockOpenAi/toolCalls.js";
import { getAppServices } from "../../src/composition/appServices.js";
import { CounterUsageReader, type UsageFigures } from "../../src/core/limits/UsageReader.js";
import { apiErrorOf, waitForEvent } from "../support/openaiCalls.js";
import { useOperationsStack } from "./operationsPolicyFixture.js";

/**
 * Stored Responses read back through Palisade with the real `openai` clients: two projects that both
 * allow storing (`open` makes them, `neighbour` asks for them), a scripted upstream whose stored answer
 * holds a card number.
 */
const CARD = "4111 1111 1111 1111";
const running = useOperationsStack([
  ["open", "open-app"],
  ["neighbour", "neighbour-app"],
  ["acme", "app"],
  ["metered", "metered-app"],
]);

const key = (project: "open" | "neighbour" | "acme" | "metered"): string => running.key(project, project === "acme" ? "app" : `${project}-app`);
const platform = (apiKey: string): OpenAI => new OpenAI({ baseURL: running.stack().baseUrl, apiKey, maxRetries: 0, timeout: 15_000 });
const azure = (apiKey: string): AzureOpenAI => new AzureOpenAI({ endpoint: running.stack().host.url, apiKey, apiVersion: "2025-04-01-preview", maxRetries: 0, timeout: 15_000 });
const azureV1 = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${running.stack().host.url}/openai/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
const upstreamCalls = () => running.stack().mocks.chat.requests().map((request) => request.path);

/** A Response `open` made and stored, whose upstream copy says the card number. */
async function storedWithCard(): Promise<string> {
  const made = await platform(key("open")).responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective(`your card ${CARD}`)}` });
  expect(made.output_text).toBe("your card [CREDIT_CARD_1]");
  expect(running.stack().mocks.chat.storedResponseIds()).toContain(made.id);
  return made.id;
}

describe("responses.retrieve(id) through Palisade", () => {
  it("the maker reads its stored Response back, the card redacted as on the way out; the read is audited in its chain", async () => {
    const id = await storedWithCard();
    running.stack().mocks.chat.clearRequests();
    const { data: read, response } = await platform(key("open")).responses.retrieve(id).withResponse();
    expect(read.id).toBe(id);
    expect(read.output_text).toBe("your card [CREDIT_CARD_1]");
    expect(JSON.stringify(read)).not.toContain(CARD);
    expect(Number(response.headers.get("x-palisade-redactions"))).toBeGreaterThan(0);
    expect(upstreamCalls()).toEqual([`/openai/v1/responses/${id}`]);
    const requestId = response.headers.get("x-request-id");
    const outcome = await waitForEvent("open", (event) => event.requestId === requestId && event.type === "api_call");
    expect(outcome).toMatchObject({ status: "success", endpointId: "eu-chat", model: "gpt-4o-mini", details: expect.objectContaining({ operation: "responses.retrieve" }) });
    expect(JSON.stringify(outcome)).not.toContain(CARD);
  }, 30_000);

  it("another project asking for it gets 404 response_not_found (the SDK's NotFoundError), and the upstream is never asked", async () => {
    const id = await storedWithCard();
    running.stack().mocks.chat.clearRequests();
    const stolen = await apiErrorOf(platform(key("neighbour")).responses.retrieve(id));
    expect({ status: stolen.status, type: stolen.type, code: stolen.code }).toEqual({ status: 404, type: "not_found_error", code: "response_not_found" });
    expect(stolen).toBeInstanceOf(OpenAI.NotFoundError);
    expect(stolen.message).not.toContain(id);
    const unknown = await apiErrorOf(platform(key("open")).responses.retrieve("resp_made_elsewhere"));
    expect(unknown.status).toBe(404);
    expect(upstreamCalls()).toEqual([]);
    const refusal = await waitForEvent("neighbour", (event) => event.reason === "response_not_found" && event.details?.operation === "responses.retrieve");
    expect(refusal).toMatchObject({ type: "policy_violation", status: "blocked", httpStatus: 404 });
  }, 30_000);

  it("AzureOpenAI (/openai/responses/{id}?api-version=) and OpenAI on Azure's v1 API read it back the same way", async () => {
    const id = await storedWithCard();
    running.stack().mocks.chat.clearRequests();
    expect((await azure(key("open")).responses.retrieve(id)).output_text).toBe("your card [CREDIT_CARD_1]");
    expect((await azureV1(key("open")).responses.retrieve(id)).output_text).toBe("your card [CREDIT_CARD_1]");
    // The upstream's v1 API is called without the caller's dated api-version.
    expect(upstreamCalls()).toEqual([`/openai/v1/responses/${id}`, `/openai/v1/responses/${id}`]);
    expect((await apiErrorOf(azure(key("neighbour")).responses.retrieve(id))).status).toBe(404);
  }, 30_000);

});

/** Every event of a streamed retrieve, as the SDK yields them. */
async function eventsOf(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}
const deltasOf = (events: readonly ResponseStreamEvent[]): string => events.map((event) => (event.type === "response.output_text.delta" ? event.delta : "")).join("");
const completedOf = (events: readonly ResponseStreamEvent[]) => events.find((event) => event.type === "response.completed");

describe("responses.retrieve(id, { stream: true }) through Palisade: a stored stream replayed, governed", () => {
  it("the maker's replay goes through streamed output inspection (the card redacted in the deltas and the final Response), audited as a read that bills nothing", async () => {
    const id = await storedWithCard();
    running.stack().mocks.chat.clearRequests();
    const { data: stream, response } = await platform(key("open")).responses.retrieve(id, { stream: true }).withResponse();
    const events = await eventsOf(stream);
    expect(deltasOf(events)).toBe("your card [CREDIT_CARD_1]");
    expect(completedOf(events)).toMatchObject({ response: { id, status: "completed" } });
    expect(JSON.stringify(events)).not.toContain(CARD);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    // Asked from its start: Palisade drops what the caller has, so the numbering stays its own.
    expect(running.stack().mocks.chat.requests().map((request) => [request.path, request.body])).toEqual([[`/openai/v1/responses/${id}`, { stream: "true" }]]);
    const requestId = response.headers.get("x-request-id");
    const outcome = await waitForEvent("open", (event) => event.requestId === requestId && event.type === "api_call");
    expect(outcome).toMatchObject({ status: "success", endpointId: "eu-chat", dlpFindings: { "output.CREDIT_CARD": 1 }, details: expect.objectContaining({ operation: "responses.retrieve", streamed: true }) });
    expect(outcome?.costUsd ?? 0).toBe(0);
    expect(JSON.stringify(outcome)).not.toContain(CARD);
  }, 30_000);

  it("starting_after resumes it: only the events after that sequence number, as the whole replay numbered and inspected them", async () => {
    const id = await storedWithCard();
    const whole = await eventsOf(await platform(key("open")).responses.retrieve(id, { stream: true }));
    const after = whole.findIndex((event) => event.type === "response.output_text.delta");
    const resumed = await eventsOf(await platform(key("open")).responses.retrieve(id, { stream: true, starting_after: after }));
    expect(resumed).toEqual(whole.slice(after + 1));
    expect(JSON.stringify(resumed)).not.toContain(CARD);
  }, 30_000);

  it("a background Response created queued is streamed back to its end (AzureOpenAI on Azure's route too); another project's id is 404, the upstream never asked", async () => {
    const made = await platform(key("open")).responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective(`your card ${CARD}`)}`, background: true });
    expect(made.status).toBe("queued");
    const events = await eventsOf(await azure(key("open")).responses.retrieve(made.id, { stream: true }));
    expect(deltasOf(events)).toBe("your card [CREDIT_CARD_1]");
    expect(completedOf(events)).toMatchObject({ response: { id: made.id, status: "completed" } });
    expect(JSON.stringify(events)).not.toContain(CARD);
    running.stack().mocks.chat.clearRequests();
    for (const client of [platform(key("neighbour")), azure(key("neighbour"))]) {
      const stolen = await apiErrorOf(client.responses.retrieve(made.id, { stream: true }));
      expect({ status: stolen.status, code: stolen.code }).toEqual({ status: 404, code: "response_not_found" });
    }
    expect(upstreamCalls()).toEqual([]);
  }, 30_000);

  it("stream on a call that cannot stream, and starting_after without stream, are refused with a clear 400", async () => {
    const id = await storedWithCard();
    const unstreamed = await apiErrorOf(platform(key("open")).responses.retrieve(id, { starting_after: 3 }));
    expect({ status: unstreamed.status, code: unstreamed.code, param: unstreamed.param }).toEqual({ status: 400, code: "invalid_request", param: "starting_after" });
    const listed = await apiErrorOf(platform(key("open")).get(`/responses/${id}/input_items?stream=true`));
    expect({ status: listed.status, param: listed.param }).toEqual({ status: 400, param: "stream" });
  }, 30_000);
});

describe("responses.delete(id) and responses.cancel(id) through Palisade", () => {
  it("only the maker deletes; after the upstream deleted it, reading it back is 404 and the owner record is gone", async () => {
    const id = await storedWithCard();
    const refused = await apiErrorOf(platform(key("neighbour")).responses.delete(id));
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 404, code: "response_not_found" });
    expect(running.stack().mocks.chat.storedResponseIds()).toContain(id);
    await platform(key("open")).responses.delete(id);
    expect(running.stack().mocks.chat.storedResponseIds()).not.toContain(id);
    running.stack().mocks.chat.clearRequests();
    expect((await apiErrorOf(platform(key("open")).responses.retrieve(id))).status).toBe(404);
    // Forgotten by Palisade: the retrieve did not even reach the upstream.
    expect(upstreamCalls()).toEqual([]);
  }, 30_000);

  it("a background Response is cancelled by its maker (AzureOpenAI too); another project gets 404", async () => {
    const made = await platform(key("open")).responses.create({ model: "gpt-4o-mini", input: "long job", background: true });
    expect(made.status).toBe("queued");
    expect((await apiErrorOf(azure(key("neighbour")).responses.cancel(made.id))).status).toBe(404);
    const cancelled = await azure(key("open")).responses.cancel(made.id);
    expect(cancelled.status).toBe("cancelled");
    expect(upstreamCalls().at(-1)).toBe(`/openai/v1/responses/${made.id}/cancel`);
  }, 30_000);
});

describe("responses.inputItems.list(id) through Palisade", () => {
  it("the maker lists what it sent (as it went upstream: redacted); another project gets 404", async () => {
    const made = await platform(key("open")).responses.create({ model: "gpt-4o-mini", input: `remember ${CARD}` });
    const items = [];
    for await (const item of platform(key("open")).responses.inputItems.list(made.id)) items.push(item);
    expect(JSON.stringify(items)).toContain("[CREDIT_CARD_1]");
    expect(JSON.stringify(items)).not.toContain(CARD);
    expect(upstreamCalls().at(-1)).toBe(`/openai/v1/responses/${made.id}/input_items`);
    expect((await apiErrorOf(platform(key("neighbour")).responses.inputItems.list(made.id))).status).toBe(404);
  }, 30_000);
});

describe("background: true end to end", () => {
  it("refused up front where the project denies storing (store left out means stored), and with store: false anywhere; the upstream is never asked", async () => {
    const denied = await apiErrorOf(platform(key("acme")).responses.create({ model: "gpt-4o-mini", input: "long job", background: true }));
    expect({ status: denied.status, type: denied.type, code: denied.code, param: denied.param }).toEqual({ status: 403, type: "permission_error", code: "response_storage_not_allowed", param: "background" });
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(denied.message).toMatch(/responses\.store: deny/);
    const deniedAzure = await apiErrorOf(azure(key("acme")).responses.create({ model: "gpt-4o-mini", input: "long job", background: true, store: true }));
    expect({ status: deniedAzure.status, code: deniedAzure.code }).toEqual({ status: 403, code: "response_storage_not_allowed" });
    const contradictory = await apiErrorOf(platform(key("open")).responses.create({ model: "gpt-4o-mini", input: "long job", background: true, store: false }));
    expect({ status: contradictory.status, type: contradictory.type, code: contradictory.code, param: contradictory.param }).toEqual({ status: 400, type: "invalid_request_error", code: "invalid_request", param: "background" });
    expect(upstreamCalls()).toEqual([]);
    const refusal = await waitForEvent("acme", (event) => event.reason === "response_storage_not_allowed" && event.details?.operation === "responses");
    expect(refusal).toMatchObject({ status: "blocked", httpStatus: 403 });
  }, 30_000);


  it("created queued, polled with retrieve until completed: the polled answer is inspected (its card redacted), and only the maker may poll", async () => {
    const made = await platform(key("open")).responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective(`your card ${CARD}`)}`, background: true });
    expect(made.status).toBe("queued");
    expect(made.output).toEqual([]);
    const statuses: string[] = [];
    let polled = made;
    for (let poll = 0; poll < 5 && polled.status !== "completed"; poll += 1) {
      polled = await platform(key("open")).responses.retrieve(made.id);
      statuses.push(polled.status ?? "");
    }
    expect(statuses).toEqual(["in_progress", "completed"]);
    expect(polled.output_text).toBe("your card [CREDIT_CARD_1]");
    expect(JSON.stringify(polled)).not.toContain(CARD);
    expect(polled.usage?.output_tokens).toBeGreaterThan(0);
    expect((await apiErrorOf(platform(key("neighbour")).responses.retrieve(made.id))).status).toBe(404);
  }, 30_000);
});

describe("a background Response's usage, settled when it is seen ended", () => {
  /** The metered project's counters today (day row), the create's settlement written first. */
  async function today(): Promise<UsageFigures> {
    const services = await getAppServices();
    await services.limits.flush();
    return (await new CounterUsageReader(services.usageStore).getUsage({ project: "metered", period: "day", date: new Date().toISOString().slice(0, 10) })).total;
  }

  it("counted at the reservation when created (input estimate + the whole output cap), then at its real usage once a read sees it completed, once though two reads see it at once", async () => {
    const client = platform(key("metered"));
    const before = await today();
    const made = await client.responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective("the report is ready")}`, background: true, max_output_tokens: 4_000 });
    expect(made.status).toBe("queued");
    const created = await today();
    expect(created.outputTokens - before.outputTokens).toBe(4_000);
    expect(await client.responses.retrieve(made.id)).toMatchObject({ status: "in_progress" });
    // Two reads at once see it completed: each is inspected and answered, the usage is settled once.
    const reads = await Promise.all([client.responses.retrieve(made.id), client.responses.retrieve(made.id)]);
    const usage = reads[0].usage;
    expect(reads.map((read) => read.status)).toEqual(["completed", "completed"]);
    expect(usage?.output_tokens).toBeGreaterThan(0);
    const after = await today();
    expect({ input: after.inputTokens - before.inputTokens, output: after.outputTokens - before.outputTokens }).toEqual({ input: usage?.input_tokens, output: usage?.output_tokens });
    // $0.15/1M input, $0.60/1M output (the fixture's price), rounded up to the micro-dollar.
    expect(after.costUsd - before.costUsd).toBeCloseTo(Math.ceil(((usage?.input_tokens ?? 0) * 0.15 + (usage?.output_tokens ?? 0) * 0.6)) / 1_000_000, 9);
    // Later reads, and its replayed stream, change no tokens and no cost (each read is one more request).
    await client.responses.retrieve(made.id);
    await eventsOf(await client.responses.retrieve(made.id, { stream: true }));
    expect(await today()).toEqual({ ...after, requests: after.requests + 2 });
  }, 30_000);

  it("a background stream its caller leaves is counted at the reservation (the Response goes on upstream), then at its real usage once a read sees it ended", async () => {
    const before = await today();
    const input = `go ${sayDirective("one two three four five six seven eight nine ten")} [[mock:pace=150]]`;
    const stream = await platform(key("metered")).responses.create({ model: "gpt-4o-mini", input, background: true, stream: true, max_output_tokens: 3_000 });
    let id = "";
    for await (const event of stream) {
      if (event.type === "response.created") {
        id = event.response.id;
        break;
      }
    }
    let left = await today();
    for (let wait = 0; wait < 50 && left.outputTokens - before.outputTokens < 3_000; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await today();
    }
    expect(left.outputTokens - before.outputTokens).toBe(3_000);
    const read = await platform(key("metered")).responses.retrieve(id);
    expect(read).toMatchObject({ status: "completed", background: true });
    const after = await today();
    expect({ input: after.inputTokens - before.inputTokens, output: after.outputTokens - before.outputTokens }).toEqual({ input: read.usage?.input_tokens, output: read.usage?.output_tokens });
  }, 30_000);

  it("the replayed stream that first sees it end settles it too (AzureOpenAI)", async () => {
    const before = await today();
    const made = await platform(key("metered")).responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective("done in the background")}`, background: true, max_output_tokens: 2_000 });
    const events = await eventsOf(await azure(key("metered")).responses.retrieve(made.id, { stream: true }));
    const usage = completedOf(events)?.type === "response.completed" ? (completedOf(events) as { response: { usage?: { input_tokens: number; output_tokens: number } | null } }).response.usage : null;
    expect(usage?.output_tokens).toBeGreaterThan(0);
    const after = await today();
    expect(after.outputTokens - before.outputTokens).toBe(usage?.output_tokens);
    expect(after.requests - before.requests).toBe(2);
  }, 30_000);
});
