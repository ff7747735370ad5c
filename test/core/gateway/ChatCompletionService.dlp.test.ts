import { type ProjectPolicy } from "../../../src/core/policy/schema.js";
import { describe, expect, it } from "vitest";
import { type Clock } from "../../../src/core/clock.js";
import { type ChatCompletionRequest } from "../../../src/core/gateway/operations/chat/chatRequest.js";
import { createChatOperation } from "../../../src/core/gateway/operations/chat/chatOperation.js";
import { inspectInput } from "../../../src/core/gateway/pipeline/inspectInput.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { CARD, OTHER_CARD, gatewayHarness, gatewayPolicy, jsonResponse, onlyEvent, refusalOf } from "./gatewayHarness.js";

const sentText = (body: Readonly<Record<string, unknown>>): string => JSON.stringify(body.messages);
const contentOf = (body: Record<string, unknown>): unknown => (body.choices as { message: { content: unknown } }[])[0]?.message.content;

describe("ChatCompletionService: DLP on the prompt", () => {
  it("block: 422 sensitive_data_detected naming types and counts, never the values, and nothing goes upstream", async () => {
    const h = await gatewayHarness();
    const ssn = "078-05-1120";
    const error = await refusalOf(
      h.service.handle(
        h.request({
          dataClassHeader: "public",
          extraBody: { messages: [{ role: "user", content: `card ${CARD}` }, { role: "assistant", content: "ok" }, { role: "user", content: `also ${OTHER_CARD} and ssn ${ssn}` }] },
        }),
      ),
    );
    expect([error.status, error.type, error.code, error.param]).toEqual([422, "invalid_request_error", "sensitive_data_detected", "messages"]);
    expect(error.message).toContain("CREDIT_CARD x2");
    expect(error.message).toContain("US_SSN x1");
    for (const value of [CARD, OTHER_CARD, ssn, "4111", "5555", "1120"]) expect(error.message).not.toContain(value);
    expect(h.provider.calls).toHaveLength(0);
  });

  it("redact: the model gets placeholders, the same value the same placeholder across messages and formats", async () => {
    const h = await gatewayHarness();
    const response = jsonResponse(
      await h.service.handle(
        h.request({
          extraBody: {
            messages: [
              { role: "system", content: "be brief" },
              { role: "user", content: `my card is ${CARD}` },
              { role: "assistant", content: "noted" },
              { role: "user", content: [{ type: "text", text: `again ${CARD.replace(/ /g, "-")}, not ${OTHER_CARD}` }] },
            ],
            user: "end-user-42",
            stream_options: { include_usage: true },
          },
        }),
      ),
    );
    expect(response.status).toBe(200);
    const [call] = h.provider.calls;
    const sent = sentText(call?.body ?? {});
    expect(sent).not.toMatch(/4111|5555/);
    const messages = call?.body.messages as { content: unknown }[];
    expect(messages[1]?.content).toBe("my card is [CREDIT_CARD_1]");
    expect(messages[3]?.content).toEqual([{ type: "text", text: "again [CREDIT_CARD_1], not [CREDIT_CARD_2]" }]);
    expect(messages[0]?.content).toBe("be brief");
    // Neither the end-user id nor the caller's stream options go upstream.
    // `user` goes upstream only as a pseudonym (Azure's abuse monitoring tells users apart without learning who they are).
    expect(call?.body.user).toMatch(/^pal-[0-9a-f]{32}$/);
    expect(JSON.stringify(call?.body)).not.toContain("end-user-42");
    expect(call?.body).not.toHaveProperty("stream_options");
    expect(response.headers["x-palisade-redactions"]).toBe("3");
    expect(response.headers["x-palisade-classification"]).toBe("internal");
    expect(call?.endpointClass).toBe("standard");
  });

  it("redact: tool-call arguments are inspected too", async () => {
    const h = await gatewayHarness();
    await h.service.handle(
      h.request({
        extraBody: {
          messages: [
            { role: "user", content: "pay it" },
            { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "pay", arguments: JSON.stringify({ card: CARD }) } }] },
            { role: "tool", tool_call_id: "call_1", content: "paid" },
          ],
        },
      }),
    );
    const sent = sentText(h.provider.calls[0]?.body ?? {});
    expect(sent).toContain("[CREDIT_CARD_1]");
    expect(sent).not.toContain("4111");
  });

  it("route: findings raise the class to pii and only zero-data-retention endpoints are used, failover included", async () => {
    const h = await gatewayHarness({ project: { dlp: { input: { internal: "route" } } } });
    h.provider.onEndpoint("eu-west-zdr", FakeCompletionProvider.fail("timeout"));
    const response = jsonResponse(await h.service.handle(h.request({ content: `card ${CARD}` })));
    expect(response.headers["x-palisade-classification"]).toBe("pii");
    expect(response.headers["x-palisade-endpoint-class"]).toBe("zdr");
    expect(response.headers["x-palisade-redactions"]).toBe("0");
    expect(h.provider.calls.map((call) => [call.endpointId, call.endpointClass])).toEqual([
      ["eu-west-zdr", "zdr"],
      ["eu-north-zdr", "zdr"],
    ]);
    // Routed, not redacted: the zero-data-retention endpoint gets the text as sent.
    expect(sentText(h.provider.calls[1]?.body ?? {})).toContain(CARD);
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ classification: "pii", dlpFindings: { CREDIT_CARD: 1 }, dlpAction: "route" });
  });

  it("route: a caller cannot declare the class back down below what DLP found", async () => {
    const h = await gatewayHarness({ project: { dlp: { input: { public: "route" } } } });
    const response = jsonResponse(await h.service.handle(h.request({ dataClassHeader: "public", content: `card ${CARD}` })));
    expect(response.headers["x-palisade-classification"]).toBe("pii");
    expect(h.provider.calls.every((call) => call.endpointClass === "zdr")).toBe(true);
  });

  it("a prompt without findings is sent unchanged and not raised", async () => {
    const h = await gatewayHarness({ project: { dlp: { input: { internal: "route" } } } });
    const response = jsonResponse(await h.service.handle(h.request({ content: "the weather in Paris" })));
    expect(response.headers["x-palisade-classification"]).toBe("internal");
    expect(h.provider.calls[0]?.endpointClass).toBe("standard");
    expect(h.provider.calls[0]?.body.messages).toEqual([{ role: "user", content: "the weather in Paris" }]);
  });
});

describe("ChatCompletionService: DLP on the completion", () => {
  it("redact (the default): the caller never sees a card number the model wrote", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.answer(`Sure, the card on file is ${CARD}.`));
    const response = jsonResponse(await h.service.handle(h.request()));
    expect(contentOf(response.body)).toBe("Sure, the card on file is [CREDIT_CARD_1].");
    expect(JSON.stringify(response.body)).not.toContain("4111");
    expect(response.headers["x-palisade-redactions"]).toBe("1");
    expect(onlyEvent(h.audit.events, "api_call").dlpFindings).toEqual({ "output.CREDIT_CARD": 1 });
  });

  it("redact: a value seen in the prompt and echoed by the model keeps its placeholder", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.answer(`Your cards: ${OTHER_CARD} and ${CARD.replace(/ /g, "")}.`));
    const response = jsonResponse(await h.service.handle(h.request({ content: `my card ${CARD}` })));
    expect(contentOf(response.body)).toBe("Your cards: [CREDIT_CARD_2] and [CREDIT_CARD_1].");
  });

  it("block: 422, and the completion is not returned", async () => {
    const h = await gatewayHarness({ project: { dlp: { output: "block" } } });
    h.provider.next(FakeCompletionProvider.answer(`The card is ${CARD}.`));
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.code]).toEqual([422, "sensitive_data_detected"]);
    expect(error.message).not.toContain("4111");
    // The blocked answer was still a paid call: one api_call event, blocked, with its usage and findings.
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "api_call"]);
    const event = onlyEvent(h.audit.events, "api_call");
    expect(event).toMatchObject({ status: "blocked", httpStatus: 422, reason: "sensitive_data_detected", dlpFindings: { "output.CREDIT_CARD": 1 } });
    expect(event.tokens?.output).toBeGreaterThan(0);
  });

  it("allow: the completion is passed through untouched", async () => {
    const h = await gatewayHarness({ project: { dlp: { output: "allow" } } });
    h.provider.next(FakeCompletionProvider.answer(`The card is ${CARD}.`));
    const response = jsonResponse(await h.service.handle(h.request()));
    expect(contentOf(response.body)).toBe(`The card is ${CARD}.`);
  });
});

describe("inspectInput (chat)", () => {
  const chat = createChatOperation(new FakeCompletionProvider());
  const inspectPrompt = (request: ChatCompletionRequest, on: ProjectPolicy, declared: "internal", clock: Clock) => inspectInput(chat, request, on, declared, clock);
  const request = (content: string): ChatCompletionRequest => ({ model: "gpt-4o-mini", messages: [{ role: "user", content }] });
  const project = gatewayPolicy().projects[0];
  if (project === undefined) throw new Error("fixture has no project");

  it("fails closed when scanning overruns the project's time budget", () => {
    let now = 0;
    const slowClock: Clock = { nowInMs: () => (now += project.dlp.timeoutInMs + 1) };
    expect(() => inspectPrompt(request("nothing sensitive here"), project, "internal", slowClock)).toThrow(expect.objectContaining({ status: 503, code: "inspection_failed" }));
  });

  it("redacts, counts and keeps its redactor for the completion", () => {
    let now = 0;
    const clock: Clock = { nowInMs: () => now++ };
    const inspection = inspectPrompt(request(`a ${CARD} b ${CARD}`), project, "internal", clock);
    expect(inspection).toMatchObject({ action: "redact", findingCount: 2, redactions: 2, counts: { CREDIT_CARD: 2 }, raisedTo: null });
    expect(inspection.request.messages[0]?.content).toBe("a [CREDIT_CARD_1] b [CREDIT_CARD_1]");
    expect(inspection.redactor.placeholderFor("CREDIT_CARD", CARD.replace(/ /g, "-"))).toBe("[CREDIT_CARD_1]");
  });
});
