import { describe, expect, it } from "vitest";
import { parseTraceparent } from "../../../src/core/telemetry/traceContext.js";
import { chatCompletionRequestSchema, requestedMaxTokens, textPartsOf } from "../../../src/core/gateway/operations/chat/chatRequest.js";
import { requestValidationError } from "../../../src/core/gateway/requestValidationError.js";
import { gatewayHarness, refusalOf } from "./gatewayHarness.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

/** The trace id audit events carry (the untraced telemetry reads it from the caller's traceparent). */
const traceIdOf = (traceparent: string | undefined): string | undefined => parseTraceparent(traceparent)?.traceId;

describe("traceIdOf", () => {
  it("returns the trace id of a well-formed traceparent", () => {
    expect(traceIdOf(`00-${TRACE_ID}-00f067aa0ba902b7-01`)).toBe(TRACE_ID);
    expect(traceIdOf(`00-${TRACE_ID}-00f067aa0ba902b7-00`)).toBe(TRACE_ID);
  });

  it.each([
    ["absent", undefined],
    ["empty", ""],
    ["upper-case hex", `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["a short trace id", `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`],
    ["a missing flags field", `00-${TRACE_ID}-00f067aa0ba902b7`],
    ["surrounding text", ` 00-${TRACE_ID}-00f067aa0ba902b7-01`],
    ["a trailing newline (log injection)", `00-${TRACE_ID}-00f067aa0ba902b7-01\nforged`],
    ["non-hex characters", `00-${TRACE_ID.slice(0, 31)}g-00f067aa0ba902b7-01`],
    // W3C Trace Context: version ff is invalid, and so is an all-zero parent id.
    ["version ff", `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
    ["an all-zero parent id", `00-${TRACE_ID}-0000000000000000-01`],
  ])("ignores a traceparent with %s", (_label, traceparent) => {
    expect(traceIdOf(traceparent)).toBeUndefined();
  });
});

describe("requestValidationError", () => {
  const errorFor = (body: unknown) => {
    const parsed = chatCompletionRequestSchema.safeParse(body);
    if (parsed.success) throw new Error("expected the body to be refused");
    return requestValidationError(parsed.error);
  };

  it.each([
    [{ model: "gpt-4o-mini", messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }, { role: "user", content: 42 }] }, "messages[1].content"],
    [{ model: "gpt-4o-mini", messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f" } }] }] }, "messages[0].tool_calls[0].function.arguments"],
    [{ model: "gpt-4o-mini" }, "messages"],
    [{ model: "gpt-4o-mini", messages: [] }, "messages"],
    [{ messages: [{ role: "user", content: "hi" }] }, "model"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], temperature: 3 }, "temperature"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 0 }, "max_tokens"],
    [{ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream_options: { include_usage: "yes" } }, "stream_options.include_usage"],
  ])("names the offending field of %j as %s", (body, param) => {
    const error = errorFor(body);
    expect([error.status, error.type, error.code, error.param]).toEqual([400, "invalid_request_error", "invalid_request", param]);
    expect(error.message).toContain(`'${param}'`);
  });

  it("gives no param when the body is not an object at all", () => {
    for (const body of [null, [], "text", 7]) {
      const error = errorFor(body);
      expect([error.status, error.param]).toEqual([400, null]);
      expect(error.message).toMatch(/^Invalid request: /);
    }
  });

  it("does not echo the caller's values", () => {
    const error = errorFor({ model: "gpt-4o-mini", messages: [{ role: "SECRET-ROLE-VALUE", content: "hi" }] });
    expect(error.message).not.toContain("SECRET-ROLE-VALUE");
  });
});

describe("chatRequest helpers", () => {
  it("collects every text a message carries, tool-call arguments included, and skips images", () => {
    const parsed = chatCompletionRequestSchema.parse({
      model: "m",
      messages: [
        {
          role: "assistant",
          content: [{ type: "text", text: "a" }, { type: "image_url", image_url: { url: "https://example.invalid/x.png" } }, { type: "text", text: "b" }],
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{\"x\":1}" } }],
        },
      ],
    });
    const [message] = parsed.messages;
    if (message === undefined) throw new Error("no message");
    expect(textPartsOf(message)).toEqual(["a", "b", "{\"x\":1}"]);
  });

  it("prefers max_completion_tokens over max_tokens", () => {
    const base = { model: "m", messages: [{ role: "user" as const, content: "x" }] };
    expect(requestedMaxTokens(chatCompletionRequestSchema.parse({ ...base, max_tokens: 10, max_completion_tokens: 20 }))).toBe(20);
    expect(requestedMaxTokens(chatCompletionRequestSchema.parse({ ...base, max_tokens: 10 }))).toBe(10);
    expect(requestedMaxTokens(chatCompletionRequestSchema.parse(base))).toBeNull();
  });
});

describe("ChatCompletionService: request bounds", () => {
  it("refuses an invalid body with 400 and its param, after authentication", async () => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request({ body: { model: "gpt-4o-mini", messages: [{ role: "robot", content: "x" }] } })));
    expect([error.status, error.param]).toEqual([400, "messages[0].role"]);
    const unauthenticated = await refusalOf(h.service.handle(h.request({ authorization: null, body: "not even json" })));
    expect(unauthenticated.status).toBe(401);
  });

  it("bounds the message count and max tokens by the project's policy", async () => {
    const h = await gatewayHarness();
    const tooMany = await refusalOf(h.service.handle(h.request({ extraBody: { messages: Array.from({ length: 9 }, () => ({ role: "user", content: "x" })) } })));
    expect([tooMany.status, tooMany.param]).toEqual([400, "messages"]);
    const tooLong = await refusalOf(h.service.handle(h.request({ extraBody: { max_completion_tokens: 1025 } })));
    expect([tooLong.status, tooLong.param]).toEqual([400, "max_completion_tokens"]);
    expect(h.provider.calls).toHaveLength(0);
  });

  it("refuses an unknown x-data-classification or a residency wider than the project's with 400", async () => {
    const h = await gatewayHarness();
    const badClass = await refusalOf(h.service.handle(h.request({ dataClassHeader: "top-secret" })));
    expect([badClass.status, badClass.param]).toEqual([400, "x-data-classification"]);
    const wider = await refusalOf(h.service.handle(h.request({ residencyHeader: "us" })));
    expect([wider.status, wider.param]).toEqual([400, "x-palisade-residency"]);
    expect(h.provider.calls).toHaveLength(0);
  });
});
