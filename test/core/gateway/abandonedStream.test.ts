import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sayDirective } from "../../../local/mockOpenAi/toolCalls.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type PipelineServer, servePipeline } from "../../support/pipelineServer.js";
import { gatewayHarness, jsonResponse } from "./gatewayHarness.js";

/**
 * Issue 18 item 2 / issue 21 item 3: a caller that goes away mid-stream. The upstream call happened, so
 * it must have its outcome in the audit trail, its usage settled on what was sent and received, and
 * its reservation released — whatever the client did.
 */
const TPM = 100_000;
const MAX_TOKENS = 1_000;

describe("a stream the caller abandons", () => {
  let mock: RunningMockOpenAi;
  let server: PipelineServer;
  let h: Awaited<ReturnType<typeof gatewayHarness>>;

  beforeAll(async () => {
    mock = await startMockOpenAi({ name: "slow-eu", region: "westeurope", chunkDelayInMs: 15 });
    h = await gatewayHarness({
      project: { cache: undefined, limits: { tokensPerMinute: TPM } },
      cache: false,
      policy: { endpoints: [{ id: "slow-eu", provider: "azure", baseUrl: mock.url, region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 }] },
      upstream: new OpenAiCompletionProvider({ credential: null, readApiKey: null }),
    });
    server = await servePipeline(
      (input) => h.service.handle(input),
      (body, authorization) => ({ ...h.request(), body, authorization }),
    );
  });
  afterAll(async () => {
    await server.stop();
    await mock.stop();
  });

  it("is settled on what was received, released, and recorded as an api_call outcome", async () => {
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: h.keys.app, maxRetries: 0 });
    const longAnswer = Array.from({ length: 80 }, (_, index) => `word${index}`).join(" ");
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", stream: true, max_tokens: MAX_TOKENS, messages: [{ role: "user", content: sayDirective(longAnswer) }] });
    let chunks = 0;
    for await (const _chunk of stream) {
      chunks += 1;
      if (chunks === 3) break; // the SDK aborts the request: the caller is gone
    }
    const outcome = await vi.waitFor(
      () => {
        const event = h.audit.events.find((candidate) => candidate.type === "api_call");
        if (!event) throw new Error("no api_call yet");
        return event;
      },
      { timeout: 5_000, interval: 20 },
    );
    const admitted = h.audit.events.find((candidate) => candidate.type === "request_admitted");
    expect(outcome).toMatchObject({ status: "error", reason: "client_disconnected", endpointId: "slow-eu", details: { admissionEventId: admitted?.eventId, streamed: true, usageEstimated: true } });
    // Settled on what was sent and received: the prompt, and a few output tokens, far below the cap.
    expect(outcome.tokens?.input).toBeGreaterThan(0);
    expect(outcome.tokens?.output).toBeGreaterThan(0);
    expect(outcome.tokens?.output).toBeLessThan(MAX_TOKENS / 10);
    expect(outcome.costUsd).toBeGreaterThan(0);

    // The reservation (prompt + 1,000) is no longer held: the next request sees only the settled usage.
    const next = jsonResponse(await h.service.handle(h.request({ extraBody: { max_tokens: MAX_TOKENS } })));
    const remaining = Number(next.headers["x-ratelimit-remaining-tokens"]);
    const reservedForNext = Number(h.audit.events.filter((event) => event.type === "request_admitted").at(-1)?.details?.reservedTokens);
    const settled = (outcome.tokens?.input ?? 0) + (outcome.tokens?.output ?? 0);
    expect(Number(admitted?.details?.reservedTokens)).toBeGreaterThan(settled + MAX_TOKENS / 2);
    expect(remaining).toBe(TPM - settled - reservedForNext);
  });
});
