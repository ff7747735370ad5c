import { describe, expect, it } from "vitest";
import { createStoredResponseOperation } from "../../../src/core/gateway/operations/responses/storedResponseOperation.js";
import { InMemoryStoredResponseOwners } from "../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { UpstreamError } from "../../../src/core/upstream/CompletionProvider.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { CARD, RESPONSES_ONLY_POLICY, collect, gatewayHarness, jsonResponse, onlyEvent, refusalOf } from "./gatewayHarness.js";

/** The JSON of typed SSE frames (`event:` then `data:`). */
const payloadsOf = (frames: readonly string[]): Record<string, unknown>[] => frames.map((frame) => JSON.parse(frame.slice(frame.indexOf("data: ") + 6)) as Record<string, unknown>);
const streamedText = (frames: readonly string[]): string => payloadsOf(frames).map((event) => (event.type === "response.output_text.delta" ? String(event.delta) : "")).join("");

const ENDPOINT = "eu-west-std";

async function harness(project: Parameters<typeof gatewayHarness>[0] extends infer O ? (O extends { project?: infer P } ? P : never) : never = {}) {
  const h = await gatewayHarness({ project: { cache: undefined, responses: { store: "allow", hostedTools: [] }, ...project }, cache: false, policy: RESPONSES_ONLY_POLICY });
  const owners = new InMemoryStoredResponseOwners();
  const provider = new FakeCompletionProvider();
  const retrieve = createStoredResponseOperation("retrieve", provider, owners);
  const read = (responseId: string, query: [string, string][] = []) => h.pipeline.handle(retrieve, { ...h.request(), body: { response_id: responseId, query } });
  /** Another call on a stored Response, by `acme/app`. */
  const call = (action: "delete" | "cancel", responseId: string) => h.pipeline.handle(createStoredResponseOperation(action, provider, owners), { ...h.request(), body: { response_id: responseId, query: [] } });
  /** `resp_mine` made by acme, `resp_theirs` by tokyo, both on the one endpoint. */
  const recordBoth = async (): Promise<void> => {
    await owners.record("resp_mine", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    await owners.record("resp_theirs", { projectId: "tokyo", model: "gpt-4o-mini", endpointId: ENDPOINT });
  };
  return { h, owners, provider, retrieve, read, call, recordBoth };
}

describe("GET /responses/{id}: a stored Response read back through the governed pipeline", () => {
  it("the maker reads it back from the endpoint that keeps it, its output redacted like a fresh answer, audited, with no tokens counted", async () => {
    const { h, owners, provider, read } = await harness();
    await owners.record("resp_kept", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    provider.next(FakeCompletionProvider.answer(`your card ${CARD}`, { promptTokens: 40, cachedPromptTokens: 0, completionTokens: 25 }));
    const response = jsonResponse(await read("resp_kept", [["include[]", "message.output_text.logprobs"], ["api-version", "2025-04-01-preview"]]));
    expect(response.status).toBe(200);
    expect(JSON.stringify(response.body)).not.toContain(CARD);
    expect(response.body.output).toEqual([expect.objectContaining({ content: [expect.objectContaining({ text: "your card [CREDIT_CARD_1]" })] })]);
    expect(response.headers["x-palisade-redactions"]).toBe("1");
    expect(provider.calls).toEqual([expect.objectContaining({ method: "callStoredResponse", endpointId: ENDPOINT, body: { action: "retrieve", responseId: "resp_kept", query: [["include[]", "message.output_text.logprobs"]] } })]);
    expect(provider.calls[0]?.options.deployment).toBe("mini");

    const [admitted, outcome] = h.audit.events;
    expect(admitted).toMatchObject({ type: "request_admitted", project: "acme", model: "gpt-4o-mini", details: expect.objectContaining({ operation: "responses.retrieve" }) });
    expect(outcome).toMatchObject({ type: "api_call", status: "success", endpointId: ENDPOINT, dlpFindings: { "output.CREDIT_CARD": 1 }, details: expect.objectContaining({ operation: "responses.retrieve" }) });
    // The stored Response's own usage was settled when it was made: the read counts none.
    expect(outcome?.tokens).toBeUndefined();
    expect(outcome?.costUsd ?? 0).toBe(0);
  });

  it("another project's Response, and an id Palisade has no record of: 404 response_not_found, nothing called upstream, the refusal audited", async () => {
    const { h, owners, provider, read } = await harness();
    await owners.record("resp_theirs", { projectId: "tokyo", model: "gpt-4o-mini", endpointId: ENDPOINT });
    for (const id of ["resp_theirs", "resp_made_elsewhere"]) {
      const refusal = await refusalOf(read(id));
      expect([refusal.status, refusal.type, refusal.code, refusal.param]).toEqual([404, "not_found_error", "response_not_found", "response_id"]);
      expect(refusal.message).not.toContain(id);
    }
    expect(provider.calls).toHaveLength(0);
    // No model is named before the Response is located (an empty one would fail the audit event's schema).
    expect(h.audit.events.map((event) => event.model)).toEqual([undefined, undefined]);
    expect(h.audit.events.map((event) => [event.type, event.reason])).toEqual([
      ["policy_violation", "response_not_found"],
      ["policy_violation", "response_not_found"],
    ]);
  });

  it("authorised like a create: the model it was made with must still be the project's, and its endpoint still compliant", async () => {
    const { owners, provider, read } = await harness();
    await owners.record("resp_old_model", { projectId: "acme", model: "gpt-4-retired", endpointId: ENDPOINT });
    await owners.record("resp_gone_endpoint", { projectId: "acme", model: "gpt-4o-mini", endpointId: "us-east-std" });
    const retired = await refusalOf(read("resp_old_model"));
    expect([retired.status, retired.code]).toEqual([403, "model_not_allowed"]);
    const elsewhere = await refusalOf(read("resp_gone_endpoint"));
    expect([elsewhere.status, elsewhere.code]).toEqual([503, "no_compliant_endpoint"]);
    expect(provider.calls).toHaveLength(0);
  });

  it("output DLP's block refuses the read (422) after the call; a project without the permission gets 403 before any lookup", async () => {
    const { h, owners, provider, retrieve, read } = await harness({ dlp: { output: "block" } });
    await owners.record("resp_card", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    provider.next(FakeCompletionProvider.answer(`your card ${CARD}`));
    const blocked = await refusalOf(read("resp_card"));
    expect([blocked.status, blocked.code]).toEqual([422, "sensitive_data_detected"]);
    expect(provider.calls).toHaveLength(1);
    const lister = await refusalOf(h.pipeline.handle(retrieve, { ...h.request({ authorization: `Bearer ${h.keys.lister}` }), body: { response_id: "resp_card", query: [] } }));
    expect([lister.status, lister.code]).toEqual([403, "missing_permission"]);
    expect(provider.calls).toHaveLength(1);
  });

  it("stream=true replays the stored stream from its start through streamed output inspection, billing nothing; starting_after drops what the caller has", async () => {
    const { h, owners, provider, read } = await harness();
    await owners.record("resp_s", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    const pieces = ["your card ", "4111 1111 ", "1111 1111", " thanks"];
    provider.next({ kind: "stream", pieces });
    const response = await read("resp_s", [["stream", "true"]]);
    if (response.kind !== "stream") throw new Error("expected a stream");
    const whole = await collect(response.events);
    expect(streamedText(whole)).toBe("your card [CREDIT_CARD_1] thanks");
    expect(whole.join("")).not.toContain(CARD);
    expect(provider.calls.at(-1)).toMatchObject({ method: "streamStoredResponse", body: { action: "retrieve", responseId: "resp_s", query: [] } });
    expect(onlyEvent(h.audit.events.filter((event) => event.type === "api_call"), "api_call")).toMatchObject({ dlpFindings: { "output.CREDIT_CARD": 1 }, costUsd: 0 });

    provider.next({ kind: "stream", pieces });
    const resumed = await read("resp_s", [["stream", "true"], ["starting_after", "2"]]);
    if (resumed.kind !== "stream") throw new Error("expected a stream");
    expect(payloadsOf(await collect(resumed.events))).toEqual(payloadsOf(whole).slice(3));
    expect(provider.calls.at(-1)?.body).toEqual({ action: "retrieve", responseId: "resp_s", query: [] });
  });

  it("stream=true elsewhere than a retrieve, starting_after without it or not a number: a clear 400 before any lookup; stream=false passes", async () => {
    const { h, owners, provider, read } = await harness();
    await owners.record("resp_s", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    const refusals: [string | null | undefined, number][] = [];
    for (const query of [[["starting_after", "3"]], [["stream", "true"], ["starting_after", "-1"]], [["stream", "yes"]]] as [string, string][][]) {
      const refusal = await refusalOf(read("resp_s", query));
      refusals.push([refusal.param, refusal.status]);
    }
    const deleting = createStoredResponseOperation("delete", provider, owners);
    const streamedDelete = await refusalOf(h.pipeline.handle(deleting, { ...h.request(), body: { response_id: "resp_s", query: [["stream", "true"]] } }));
    refusals.push([streamedDelete.param, streamedDelete.status]);
    expect(refusals).toEqual([["starting_after", 400], ["starting_after", 400], ["stream", 400], ["stream", 400]]);
    expect(provider.calls).toHaveLength(0);
    expect(jsonResponse(await read("resp_s", [["stream", "false"]])).status).toBe(200);
  });

  it("the upstream no longer keeping it is the caller's 404, not an upstream failure", async () => {
    const { owners, provider, read } = await harness();
    await owners.record("resp_expired", { projectId: "acme", model: "gpt-4o-mini", endpointId: ENDPOINT });
    provider.next({ kind: "fail", error: new UpstreamError("fatal", "not found", 404) });
    const refusal = await refusalOf(read("resp_expired"));
    expect([refusal.status, refusal.code]).toEqual([404, "response_not_found"]);
  });
});

describe("DELETE /responses/{id} and POST /responses/{id}/cancel: the maker only", () => {
  it("delete: the owner record goes once the upstream says deleted, not when the upstream fails; another project gets 404 and the upstream is not asked", async () => {
    const { h, owners, provider, call, recordBoth } = await harness();
    const del = (id: string) => call("delete", id);
    await recordBoth();

    provider.next({ kind: "fail", error: new UpstreamError("server_error", "boom", 500) });
    await refusalOf(del("resp_mine"));
    await expect(owners.ownerOf("resp_mine")).resolves.not.toBeNull();

    const deleted = jsonResponse(await del("resp_mine"));
    expect(deleted.body).toEqual({ id: "resp_mine", object: "response", deleted: true });
    await expect(owners.ownerOf("resp_mine")).resolves.toBeNull();
    expect(provider.calls.at(-1)).toMatchObject({ method: "callStoredResponse", endpointId: ENDPOINT, body: { action: "delete", responseId: "resp_mine" } });

    const calls = provider.calls.length;
    const refusal = await refusalOf(del("resp_theirs"));
    expect([refusal.status, refusal.code]).toEqual([404, "response_not_found"]);
    expect(provider.calls).toHaveLength(calls);
    await expect(owners.ownerOf("resp_theirs")).resolves.toMatchObject({ projectId: "tokyo" });
    expect(h.audit.events.filter((event) => event.type === "api_call").map((event) => event.details?.operation)).toContain("responses.delete");
  });

  it("cancel: the maker's cancelled Response comes back inspected; another project's is 404", async () => {
    const { provider, call, recordBoth } = await harness();
    const stop = (id: string) => call("cancel", id);
    await recordBoth();
    provider.next(FakeCompletionProvider.answer(`partial ${CARD}`));
    const cancelled = jsonResponse(await stop("resp_mine"));
    expect(cancelled.body.status).toBe("cancelled");
    expect(JSON.stringify(cancelled.body)).not.toContain(CARD);
    expect((await refusalOf(stop("resp_theirs"))).status).toBe(404);
    expect(provider.calls.map((call) => call.body.action)).toEqual(["cancel"]);
  });
});

describe("GET /responses/{id}/input_items: the maker only, inspected like output", () => {
  it("each item's strings are inspected (a card in the input arrives redacted); another project's is 404; paging passes on", async () => {
    const { owners, provider, recordBoth, h } = await harness();
    await recordBoth();
    const list = (id: string) => h.pipeline.handle(createStoredResponseOperation("input_items", provider, owners), { ...h.request(), body: { response_id: id, query: [["limit", "5"], ["order", "asc"]] } });
    provider.next(FakeCompletionProvider.answer(`my card ${CARD}`));
    const listed = jsonResponse(await list("resp_mine"));
    expect(JSON.stringify(listed.body)).not.toContain(CARD);
    expect(listed.body.data).toEqual([expect.objectContaining({ role: "user", content: [{ type: "input_text", text: "my card [CREDIT_CARD_1]" }] })]);
    expect(provider.calls.at(-1)?.body).toEqual({ action: "input_items", responseId: "resp_mine", query: [["limit", "5"], ["order", "asc"]] });
    expect((await refusalOf(list("resp_theirs"))).status).toBe(404);
  });
});
