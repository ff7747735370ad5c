import { describe, expect, it } from "vitest";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { type GatewayResponse } from "../../../src/core/gateway/GatewayRequest.js";
import { type ResponseStreamEvent, type ResponsesProvider } from "../../../src/core/upstream/ResponsesProvider.js";
import { CARD, collect, gatewayHarness, RESPONSES_ONLY_POLICY } from "./gatewayHarness.js";

/**
 * Outside testing (session 11): a Responses stream event of a type the session did not know went to
 * the caller unchanged, so a new event type carrying model text skipped output DLP.
 */
const at = { item_id: "msg_1", output_index: 0, content_index: 0 };
const upstreamEvents = (): ResponseStreamEvent[] =>
  [
    { type: "response.created", response: { id: "resp_1", output: [] } },
    { type: "response.output_text.delta", ...at, delta: "Here it is." },
    { type: "response.output_text.done", ...at, text: "Here it is." },
    // A type no version of the session knows, carrying model text in a nested field.
    { type: "response.future_feature.completed", item_id: "ff_1", output_index: 1, result: { note: `the card is ${CARD}` } },
    { type: "response.completed", response: { id: "resp_1", output: [], usage: { input_tokens: 5, output_tokens: 9 } } },
  ];

const provider: ResponsesProvider = {
  createResponse: () => Promise.reject(new Error("not used")),
  streamResponse: async () =>
    (async function* () {
      for (const event of upstreamEvents()) yield event;
    })(),
};

async function streamed(output: "redact" | "block"): Promise<string> {
  const h = await gatewayHarness({
    project: { cache: undefined, dlp: { output } },
    cache: false,
    policy: RESPONSES_ONLY_POLICY,
  });
  const response: GatewayResponse = await h.pipeline.handle(createResponsesOperation(provider), { ...h.request(), body: { model: "gpt-4o-mini", input: "hello", stream: true, max_output_tokens: 50 } });
  if (response.kind !== "stream") throw new Error(`expected a stream, got ${response.kind}`);
  return (await collect(response.events)).join("");
}

describe("a Responses stream event of an unknown type", () => {
  it("redact: its text reaches the caller redacted", async () => {
    const sse = await streamed("redact");
    expect(sse).toContain("event: response.future_feature.completed");
    expect(sse).toContain("the card is [CREDIT_CARD_1]");
    expect(sse).not.toContain(CARD);
  });

  it("block: the stream stops with the error event before the text goes out", async () => {
    const sse = await streamed("block");
    expect(sse).not.toContain(CARD);
    expect(sse).toContain("sensitive_data_detected");
    expect(sse).not.toContain("response.future_feature.completed");
  });
});
