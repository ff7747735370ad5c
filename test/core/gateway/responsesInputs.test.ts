import { describe, expect, it } from "vitest";
import { type GatewayRequest } from "../../../src/core/gateway/GatewayRequest.js";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { CARD, jsonResponse, refusalOf } from "./gatewayHarness.js";
import { useMockUpstreamHarness } from "./mockUpstreamHarness.js";

/**
 * Outside testing (session 11), Responses fields that carried content or retention past the rules:
 * a reusable prompt's `variables` (filled into the stored prompt upstream: text sent to the model,
 * not inspected) and `conversation` (the Conversations API keeps every turn upstream, whatever
 * `store` says, and was not refused where storing is denied).
 */
const { mock, provider, harness } = useMockUpstreamHarness();
type Harness = Awaited<ReturnType<typeof harness>>;

const responses = (h: Harness, extra: Record<string, unknown>, dataClassHeader?: string): GatewayRequest => ({
  ...h.request(dataClassHeader ? { dataClassHeader } : {}),
  body: { model: "gpt-4o-mini", max_output_tokens: 50, input: "Use the template.", ...extra },
});
const handle = (h: Harness, request: GatewayRequest) => h.pipeline.handle(createResponsesOperation(provider), request);
const received = (): Record<string, unknown> => mock().requests().at(-1)?.body ?? {};

describe("a reusable prompt (stored upstream) and its variables", () => {
  it("the stored prompt is content Palisade never sees: refused by default as uninspectable (422), nothing upstream (session 14: it went)", async () => {
    const h = await harness();
    const refused = await refusalOf(handle(h, responses(h, { prompt: { id: "pmpt_1", version: "2" } })));
    expect([refused.status, refused.code]).toEqual([422, "uninspectable_content"]);
    expect(mock().requests()).toHaveLength(0);
  });

  it("where the project lets uninspectable inputs go: variables are inspected like the prompt (a card in a string or input_text variable is redacted)", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    const prompt = { id: "pmpt_1", variables: { customer: `card ${CARD}`, note: { type: "input_text", text: `also ${CARD}` } } };
    const response = jsonResponse(await handle(h, responses(h, { prompt })));
    expect(response.status).toBe(200);
    expect(received().prompt).toEqual({ id: "pmpt_1", variables: { customer: "card [CREDIT_CARD_1]", note: { type: "input_text", text: "also [CREDIT_CARD_1]" } } });
  });

  it("blocks where the class blocks (public), and an image variable counts as uninspectable (refused for pii)", async () => {
    const allowing = await harness({ uninspectableInputs: "allow" });
    const blocked = await refusalOf(handle(allowing, responses(allowing, { prompt: { id: "pmpt_1", variables: { customer: CARD } } }, "public")));
    expect([blocked.status, blocked.code]).toEqual([422, "sensitive_data_detected"]);
    const h = await harness();
    const image = await refusalOf(handle(h, responses(h, { prompt: { id: "pmpt_1", variables: { photo: { type: "input_image", image_url: "https://example.com/a.png" } } } }, "pii")));
    expect([image.status, image.code]).toEqual([422, "uninspectable_content"]);
    expect(mock().requests()).toHaveLength(0);
  });
});

describe("conversation (the Conversations API)", () => {
  it("is refused where storing is denied (403 response_storage_not_allowed), and where it is allowed too (404: Palisade cannot know whose conversation it is)", async () => {
    const h = await harness();
    const error = await refusalOf(handle(h, responses(h, { conversation: "conv_123" })));
    expect([error.status, error.code, error.param]).toEqual([403, "response_storage_not_allowed", "conversation"]);
    expect(mock().requests()).toHaveLength(0);
    const allowing = await harness({ responses: { store: "allow" } });
    for (const conversation of ["conv_123", { id: "conv_123" }]) {
      const unowned = await refusalOf(handle(allowing, responses(allowing, { conversation })));
      expect([unowned.status, unowned.type, unowned.code, unowned.param]).toEqual([404, "not_found_error", "response_not_found", "conversation"]);
    }
    expect(mock().requests()).toHaveLength(0);
  });
});

describe("background: true (the API runs it only on a stored Response)", () => {
  it("is refused before any upstream call where the project denies storing, for a pii request where it allows it, and with store: false; stored and sent as asked otherwise", async () => {
    const denying = await harness();
    const denied = await refusalOf(handle(denying, responses(denying, { background: true })));
    expect([denied.status, denied.code, denied.param]).toEqual([403, "response_storage_not_allowed", "background"]);
    const allowing = await harness({ responses: { store: "allow" } });
    const pii = await refusalOf(handle(allowing, responses(allowing, { background: true }, "pii")));
    expect([pii.status, pii.code, pii.param]).toEqual([403, "response_storage_not_allowed", "background"]);
    expect(pii.message).toMatch(/class pii/);
    const contradictory = await refusalOf(handle(allowing, responses(allowing, { background: true, store: false })));
    expect([contradictory.status, contradictory.type, contradictory.param]).toEqual([400, "invalid_request_error", "background"]);
    expect(mock().requests()).toHaveLength(0);
    expect(jsonResponse(await handle(allowing, responses(allowing, { background: true }))).status).toBe(200);
    expect(received()).toMatchObject({ background: true });
    expect(received().store).toBeUndefined();
  });
});
