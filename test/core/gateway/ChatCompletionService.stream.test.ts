import { describe, expect, it } from "vitest";
import { type GatewayResponse } from "../../../src/core/gateway/GatewayRequest.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { CARD, collect, gatewayHarness, onlyEvent, payloadsOf, refusalOf, streamedText } from "./gatewayHarness.js";

const streamOf = (response: GatewayResponse): { headers: Readonly<Record<string, string>>; events: AsyncIterable<string> } => {
  if (response.kind !== "stream") throw new Error(`expected a stream, got ${response.kind}`);
  return { headers: response.headers, events: response.events };
};
const streaming = (extra: Record<string, unknown> = {}) => ({ extraBody: { stream: true, ...extra } });
const SSE_FRAME = /^data: (\{.*\}|\[DONE\])\n\n$/s;

describe("ChatCompletionService: streamed completions", () => {
  it("sends each chunk as one `data: {...}` frame and ends with `data: [DONE]`", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.stream(["Hello ", "there, ", "friend."]));
    const response = await h.service.handle(h.request(streaming()));
    expect(response.status).toBe(200);
    const { headers, events } = streamOf(response);
    expect(headers).toMatchObject({ "x-palisade-classification": "internal", "x-palisade-region": "westeurope", "x-palisade-endpoint-class": "standard", "x-palisade-redactions": "0" });
    expect(headers["x-request-id"]).toMatch(/^req-/);

    const frames = await collect(events);
    for (const frame of frames) expect(frame).toMatch(SSE_FRAME);
    expect(frames.at(-1)).toBe("data: [DONE]\n\n");
    expect(frames.filter((frame) => frame === "data: [DONE]\n\n")).toHaveLength(1);
    expect(streamedText(frames)).toBe("Hello there, friend.");
    expect(h.provider.calls[0]?.method).toBe("stream");
  });

  it("records the api_call once the stream is over, with the usage the upstream reported", async () => {
    const h = await gatewayHarness();
    const { events } = streamOf(await h.service.handle(h.request(streaming())));
    // The admission is in the trail before the first frame; the outcome once the stream is over.
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted"]);
    await collect(events);
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ status: "success", httpStatus: 200, tokens: { input: 12, output: 8 }, endpointId: "eu-west-std" });
    expect(h.audit.events).toHaveLength(2);
  });

  it("sends a usage frame only when the caller asked for include_usage", async () => {
    const h = await gatewayHarness();
    const withUsage = await collect(streamOf(await h.service.handle(h.request(streaming({ stream_options: { include_usage: true } })))).events);
    const usageFrames = payloadsOf(withUsage).filter((payload) => payload.usage !== undefined && payload.usage !== null);
    expect(usageFrames).toHaveLength(1);
    expect(usageFrames[0]).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 } });
    expect(withUsage.at(-2)).toContain('"usage"');

    const without = await collect(streamOf(await h.service.handle(h.request(streaming()))).events);
    expect(payloadsOf(without).filter((payload) => payload.usage !== undefined && payload.usage !== null)).toHaveLength(0);
    // The caller's stream_options never reach the upstream (the provider asks for usage itself).
    expect(h.provider.calls.every((call) => !("stream_options" in call.body))).toBe(true);
  });

  it("ends a stream that breaks mid-way with an error frame, no [DONE], and still records the audit event", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 2 } } });
    h.provider.next(FakeCompletionProvider.stream(["one ", "two ", "three ", "four"], { breakAfter: 2 }));
    const frames = await collect(streamOf(await h.service.handle(h.request(streaming()))).events);
    expect(frames).not.toContain("data: [DONE]\n\n");
    const last = payloadsOf(frames).at(-1);
    expect(last).toEqual({ error: { message: expect.any(String), type: "api_error", code: "upstream_error", param: null } });
    expect(streamedText(frames)).not.toContain("three");
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ status: "error", httpStatus: 502, reason: "upstream_error" });
    expect(h.provider.streamsClosed).toBe(1);
  });

  it("fails over when a stream cannot be opened, and refuses with no stream when none can", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 1 } } });
    h.provider.onEndpoint("eu-west-std", FakeCompletionProvider.fail("rate_limited", { status: 429, retryAfterInMs: 2_000 }));
    const { headers, events } = streamOf(await h.service.handle(h.request(streaming())));
    expect(headers["x-palisade-endpoint-class"]).toBe("zdr");
    await collect(events);
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "fallback_triggered", "api_call"]);

    h.clock.advance(60_000);
    h.audit.clear();
    for (const id of ["eu-west-std", "eu-west-zdr", "eu-north-zdr"]) h.provider.onEndpoint(id, FakeCompletionProvider.fail("server_error", { status: 503 }));
    const error = await refusalOf(h.service.handle(h.request(streaming())));
    expect(error.code).toBe("no_compliant_endpoint");
    // The reservation was released: the one request of this minute is still available.
    for (const id of ["eu-west-std", "eu-west-zdr", "eu-north-zdr"]) h.provider.onEndpoint(id, null);
    const again = streamOf(await h.service.handle(h.request(streaming())));
    expect(again.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect((await collect(again.events)).at(-1)).toBe("data: [DONE]\n\n");
  });

  it("never lets the caller see a card number the model streams in pieces", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.stream(["Your card is 41", "11 1111 11", "11 11", "11 and that is all."]));
    const frames = await collect(streamOf(await h.service.handle(h.request(streaming()))).events);
    expect(streamedText(frames).replace(/\[CREDIT_CARD_\d+\]/g, "")).not.toMatch(/\d/);
    expect(frames.join("")).not.toMatch(/41|1111|11 11/);
    expect(streamedText(frames)).toBe("Your card is [CREDIT_CARD_1] and that is all.");
    expect(frames.at(-1)).toBe("data: [DONE]\n\n");
    expect(onlyEvent(h.audit.events, "api_call").dlpFindings).toEqual({ "output.CREDIT_CARD": 1 });
  });

  it("stops the stream with a 422 error frame when the project blocks sensitive output", async () => {
    const h = await gatewayHarness({ project: { dlp: { output: "block" } } });
    h.provider.next(FakeCompletionProvider.stream(["Sure: ", CARD.slice(0, 7), CARD.slice(7), " done"]));
    const frames = await collect(streamOf(await h.service.handle(h.request(streaming()))).events);
    expect(frames.join("")).not.toMatch(/4111|1111/);
    expect(frames).not.toContain("data: [DONE]\n\n");
    expect(payloadsOf(frames).at(-1)).toMatchObject({ error: { code: "sensitive_data_detected", type: "invalid_request_error" } });
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ status: "blocked", httpStatus: 422, reason: "sensitive_data_detected" });
  });

  it("ends with an audit_unavailable error frame instead of [DONE] when the event cannot be recorded", async () => {
    const h = await gatewayHarness();
    const { events } = streamOf(await h.service.handle(h.request(streaming())));
    h.audit.failAlways();
    const frames = await collect(events);
    expect(frames).not.toContain("data: [DONE]\n\n");
    expect(payloadsOf(frames).at(-1)).toMatchObject({ error: { code: "audit_unavailable", type: "service_unavailable_error" } });
  });

  it("sends every content delta before the chunk that carries finish_reason", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.stream(["Hello ", "world"]));
    const frames = await collect(streamOf(await h.service.handle(h.request(streaming()))).events);
    expect(streamedText(frames)).toBe("Hello world");
    const choices = payloadsOf(frames).flatMap((payload) => (Array.isArray(payload.choices) ? (payload.choices as { delta?: { content?: string }; finish_reason?: string | null }[]) : []));
    const finishedAt = choices.findIndex((choice) => choice.finish_reason != null);
    expect(finishedAt).toBeGreaterThanOrEqual(0);
    const afterFinish = choices.slice(finishedAt + 1).map((choice) => choice.delta?.content ?? "").join("");
    expect(afterFinish).toBe("");
  });
});
