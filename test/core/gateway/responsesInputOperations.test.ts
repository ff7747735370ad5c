import { describe, expect, it } from "vitest";
import { createCompactOperation } from "../../../src/core/gateway/operations/responses/compactOperation.js";
import { createInputTokensOperation } from "../../../src/core/gateway/operations/responses/inputTokensOperation.js";
import { ResponseHistoryTokens } from "../../../src/core/gateway/operations/responses/ResponseHistoryTokens.js";
import { InMemoryStoredResponseOwners } from "../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { CARD, RESPONSES_ONLY_POLICY, gatewayHarness, jsonResponse, refusalOf } from "./gatewayHarness.js";

/** `responses.compact` and `responses.inputTokens.count` on the governed pipeline, with fakes: what they cost in limits, what comes back. */
async function harness(limits: { requestsPerMinute?: number; tokensPerMinute?: number }) {
  const h = await gatewayHarness({ project: { cache: undefined, limits, maxTokens: 400, defaultMaxTokens: 300 }, cache: false, policy: RESPONSES_ONLY_POLICY });
  const provider = new FakeCompletionProvider();
  const owners = new InMemoryStoredResponseOwners();
  const history = new ResponseHistoryTokens();
  const compact = createCompactOperation(provider, owners, history);
  const count = createInputTokensOperation(provider, owners, history);
  const body = { model: "gpt-4o-mini", input: [{ role: "user", content: "a long conversation about refunds" }] };
  return { h, provider, compact, count, body, run: (operation: typeof compact) => h.pipeline.handle(operation, { ...h.request(), body }) };
}

describe("responses.inputTokens.count: one request against RPM, no tokens", () => {
  it("takes a request slot each time and no tokens from TPM; past the RPM limit it is 429 and the upstream is not asked", async () => {
    const { h, provider, count, run } = await harness({ requestsPerMinute: 2, tokensPerMinute: 10_000 });
    provider.defaultUsage = { promptTokens: 900, cachedPromptTokens: 0, completionTokens: 0 };
    const first = jsonResponse(await run(count));
    expect(first.body).toEqual({ object: "response.input_tokens", input_tokens: 900 });
    expect(first.headers).toMatchObject({ "x-ratelimit-remaining-requests": "1", "x-ratelimit-remaining-tokens": "10000" });
    // The count the upstream answered is not usage: the next request still sees every token left.
    expect(jsonResponse(await run(count)).headers).toMatchObject({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "10000" });
    const limited = await refusalOf(run(count));
    expect([limited.status, limited.code]).toEqual([429, "rate_limit_exceeded"]);
    expect(provider.calls.map((call) => call.method)).toEqual(["countInputTokens", "countInputTokens"]);
    const outcome = h.audit.events.find((event) => event.type === "api_call");
    expect(outcome).toMatchObject({ status: "success", details: expect.objectContaining({ operation: "responses.input_tokens" }) });
    expect(outcome?.tokens).toEqual({ input: 0, cachedInput: 0, output: 0 });
  });
});

describe("responses.compact: reserved like a create, settled on its usage", () => {
  it("reserves the input estimate plus the project's default cap (no cap sent: the API takes none), then settles on the compaction's usage", async () => {
    const { provider, compact, run, body } = await harness({ tokensPerMinute: 10_000 });
    const reserved = compact.estimateInputTokens(compact.parse(body)) + 300;
    provider.next(FakeCompletionProvider.answer("summary", { promptTokens: 40, cachedPromptTokens: 0, completionTokens: 25 }));
    const first = jsonResponse(await run(compact));
    expect(first.headers["x-ratelimit-remaining-tokens"]).toBe(String(10_000 - reserved));
    expect(provider.calls[0]?.body).not.toHaveProperty("max_output_tokens");
    const second = jsonResponse(await run(compact));
    expect(second.headers["x-ratelimit-remaining-tokens"]).toBe(String(10_000 - 65 - reserved));
  });

  it("the compacted output is inspected like a Response's: a card in a message redacted, the compaction item's ciphertext untouched", async () => {
    const { h, provider, compact, run } = await harness({});
    provider.next(FakeCompletionProvider.answer(`the card ${CARD}`));
    const response = jsonResponse(await run(compact));
    const output = response.body.output as { type: string; content?: { text: string }[]; encrypted_content?: string }[];
    expect(output[0]?.content?.[0]?.text).toBe("the card [CREDIT_CARD_1]");
    expect(output[1]).toEqual({ id: "cmp_resp_fake_1", type: "compaction", encrypted_content: Buffer.from("gAAAAAresp_fake_1".repeat(4)).toString("base64") });
    expect(response.headers["x-palisade-redactions"]).toBe("1");
    expect(h.audit.events.find((event) => event.type === "api_call")).toMatchObject({ dlpFindings: { "output.CREDIT_CARD": 1 }, tokens: { input: 12, cachedInput: 0, output: 8 } });
  });
});
