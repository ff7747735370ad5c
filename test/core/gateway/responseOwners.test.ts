import { describe, expect, it } from "vitest";
import { PalisadeError } from "../../../src/core/errors.js";
import { type GatewayResponse } from "../../../src/core/gateway/GatewayRequest.js";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { InMemoryStoredResponseOwners, type StoredResponseOwner } from "../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { type ResponseStreamEvent, type ResponsesProvider } from "../../../src/core/upstream/ResponsesProvider.js";
import { collect, gatewayHarness, RESPONSES_ONLY_POLICY, refusalOf } from "./gatewayHarness.js";

/** Owners whose records wait until `release` (or fail with `failWith`); `asked` settles when a record is begun. */
class HeldOwners extends InMemoryStoredResponseOwners {
  readonly recorded: string[] = [];
  failWith: Error | null = null;
  #release: () => void = () => undefined;
  readonly #released = new Promise<void>((resolve) => (this.#release = resolve));
  #ask: () => void = () => undefined;
  readonly asked = new Promise<void>((resolve) => (this.#ask = resolve));

  release(): void {
    this.#release();
  }

  override async record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    this.#ask();
    await this.#released;
    if (this.failWith) throw this.failWith;
    this.recorded.push(responseId);
    await super.record(responseId, owner);
  }
}

/** Lets every pending promise chain run (no timer: the next turn of the event loop). */
const settleMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const events: ResponseStreamEvent[] = [
  { type: "response.created", response: { id: "resp_1", output: [] } },
  { type: "response.output_text.delta", item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hello." },
  { type: "response.output_text.done", item_id: "msg_1", output_index: 0, content_index: 0, text: "Hello." },
  { type: "response.completed", response: { id: "resp_1", output: [], usage: { input_tokens: 5, output_tokens: 2 } } },
];
const provider: ResponsesProvider = {
  createResponse: () => Promise.resolve({ body: { id: "resp_plain", object: "response", output: [] }, usage: null }),
  streamResponse: async () =>
    (async function* () {
      for (const event of events) yield event;
    })(),
};

async function harness(store: "allow" | "deny" = "allow") {
  return gatewayHarness({
    project: { cache: undefined, responses: { store, hostedTools: [] } },
    cache: false,
    policy: RESPONSES_ONLY_POLICY,
  });
}

describe("the owner of a stored Response is recorded before the answer goes out", () => {
  it("streamed: no frame reaches the caller until the record is written", async () => {
    const h = await harness();
    const owners = new HeldOwners();
    const response: GatewayResponse = await h.pipeline.handle(createResponsesOperation(provider, owners), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi", stream: true } });
    if (response.kind !== "stream") throw new Error(`expected a stream, got ${response.kind}`);
    const iterator = response.events[Symbol.asyncIterator]();
    const first = iterator.next();
    let released = false;
    void first.then(() => (released = true));
    await owners.asked;
    await settleMicrotasks();
    expect(released).toBe(false);
    owners.release();
    expect(String((await first).value)).toContain("response.created");
    expect(owners.recorded).toEqual(["resp_1"]);
    await iterator.return?.(undefined);
    await expect(owners.ownerOf("resp_1")).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-std" });
  });

  it("plain: the answer waits for the record; a record that fails fails the request, nothing unowned is served", async () => {
    const h = await harness();
    const owners = new HeldOwners();
    const answered = h.pipeline.handle(createResponsesOperation(provider, owners), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi" } });
    let done = false;
    void answered.then(() => (done = true));
    await owners.asked;
    await settleMicrotasks();
    expect(done).toBe(false);
    owners.release();
    await answered;
    await expect(owners.ownerOf("resp_plain")).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-std" });

    const failing = new HeldOwners();
    failing.failWith = new PalisadeError(503, "service_unavailable_error", "dependency_unavailable", "Table storage is unavailable.");
    failing.release();
    const refusal = await refusalOf(h.pipeline.handle(createResponsesOperation(provider, failing), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi" } }));
    expect([refusal.status, refusal.code]).toEqual([503, "dependency_unavailable"]);
  });

  it("plain: a record that fails after the upstream answered leaves the paid call settled and audited, not released", async () => {
    const h = await harness();
    const paid: ResponsesProvider = {
      ...provider,
      createResponse: () => Promise.resolve({ body: { id: "resp_paid", object: "response", output: [] }, usage: { promptTokens: 40, cachedPromptTokens: 0, completionTokens: 25 } }),
    };
    const failing = new HeldOwners();
    failing.failWith = new Error("socket hang up");
    failing.release();
    const refusal = await refusalOf(h.pipeline.handle(createResponsesOperation(paid, failing), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi" } }));
    expect([refusal.status, refusal.code]).toEqual([503, "dependency_unavailable"]);
    // The outcome event carries what the call cost: the settlement counted it (a release would have handed it back).
    const outcome = h.audit.events.find((event) => event.requestId !== undefined && event.type !== "request_admitted" && event.tokens !== undefined);
    expect(outcome).toMatchObject({ httpStatus: 503, tokens: { input: 40, output: 25 } });
    expect(outcome?.costUsd ?? 0).toBeGreaterThan(0);
  });

  it("nothing is recorded where store: false went upstream", async () => {
    const h = await harness("deny");
    const owners = new HeldOwners();
    owners.release();
    await h.pipeline.handle(createResponsesOperation(provider, owners), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi" } });
    const response = await h.pipeline.handle(createResponsesOperation(provider, owners), { ...h.request(), body: { model: "gpt-4o-mini", input: "hi", stream: true } });
    if (response.kind === "stream") await collect(response.events);
    expect(owners.recorded).toEqual([]);
  });
});

describe("an owner record expires with the retention", () => {
  it("a continuation of a Response whose record expired is refused 404 response_not_found, as one never recorded", async () => {
    const h = await harness();
    // Short, so the harness's API key is still valid when it is over.
    const retentionInMs = 10 * 60_000;
    const owners = new InMemoryStoredResponseOwners({ clock: h.clock, retentionInMs });
    const operation = createResponsesOperation(provider, owners);
    await h.pipeline.handle(operation, { ...h.request(), body: { model: "gpt-4o-mini", input: "hi" } });
    const continuation = () => h.pipeline.handle(operation, { ...h.request(), body: { model: "gpt-4o-mini", input: "and then?", previous_response_id: "resp_plain" } });
    h.clock.advance(retentionInMs - 60_000);
    expect((await continuation()).status).toBe(200);
    h.clock.advance(60_000);
    const refusal = await refusalOf(continuation());
    expect([refusal.status, refusal.code, refusal.param]).toEqual([404, "response_not_found", "previous_response_id"]);
  });
});

describe("an item_reference (an item stored upstream with some Response)", () => {
  it("is refused 403 response_storage_not_allowed where storing is denied: nothing of this project's was stored (session 14: it went)", async () => {
    const h = await harness("deny");
    const input = [{ role: "user", content: "go on" }, { type: "item_reference", id: "msg_other_project" }];
    const refusal = await refusalOf(h.pipeline.handle(createResponsesOperation(provider), { ...h.request(), body: { model: "gpt-4o-mini", input } }));
    expect([refusal.status, refusal.code, refusal.param]).toEqual([403, "response_storage_not_allowed", "input[1]"]);
  });
});
