import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_QUEUE, auditQueueDefinition } from "../../local/auditQueue.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type RunningServiceBusEmulator, startServiceBusEmulator } from "../../local/servicebus/index.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { HARDENING_UPSTREAMS, type HardeningUpstream, MODEL, hardeningPolicy, isOpenAiError } from "./hardeningPolicy.js";

/**
 * Faults: the upstream slow, dropping connections, truncating streams, rate limiting and failing;
 * then the audit queue (Service Bus) down and back. The gateway answers with the documented errors,
 * fails over only inside the project's residency, and serves again afterwards without a restart.
 * (Every 2xx having exactly one audit entry is checked end to end by the audit suite, not here.)
 */

const UPSTREAM_TIMEOUT_IN_MS = 1_000;
const BREAKER_COOLDOWN_IN_MS = 500;

let gateway: GatewayStack<HardeningUpstream>;
/**
 * The EU primary streams one word every few milliseconds, so a cut connection lands mid-stream
 * (after the headers and the first chunks went out), not before the gateway sees the answer.
 */
let streamingPrimary: RunningMockOpenAi;
/** The Service Bus emulator started again on the stack's port; stopped after the app closed its client. */
let restartedServiceBus: RunningServiceBusEmulator | null = null;
const upstream = (name: HardeningUpstream): RunningMockOpenAi => (name === "euWestStandard" ? streamingPrimary : gateway.mocks[name]);
let acmeKey: string;
let strictKey: string;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly code: string | undefined;
}

async function ask(apiKey: string, options: { stream?: boolean; classification?: string; content?: string } = {}): Promise<Answer> {
  const response = await fetch(`${gateway.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...(options.classification ? { "x-data-classification": options.classification } : {}) },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: options.content ?? "hello" }], ...(options.stream ? { stream: true } : {}) }),
  });
  const text = await response.text();
  let code: string | undefined;
  if (response.status >= 400) {
    const json = JSON.parse(text) as unknown;
    expect(isOpenAiError(json)).toBe(true);
    code = isOpenAiError(json) ? json.error.code : undefined;
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.headers.get("x-ms-error-code")).toBe(code);
  }
  return { status: response.status, headers: response.headers, text, code };
}

/** The data frames of an SSE answer, parsed; and the text their deltas carry. */
function framesOf(text: string): unknown[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.startsWith("data: ") && frame !== "data: [DONE]")
    .map((frame) => JSON.parse(frame.slice("data: ".length)) as unknown);
}
function streamedText(frames: readonly unknown[]): string {
  return frames
    .map((frame) => {
      const choices = (frame as { choices?: { delta?: { content?: unknown } }[] }).choices ?? [];
      return choices.map((choice) => (typeof choice.delta?.content === "string" ? choice.delta.content : "")).join("");
    })
    .join("");
}

const clearFaults = (): void => {
  for (const mock of [...Object.values(gateway.mocks), streamingPrimary]) mock.setFault(null);
};
const callsTo = (name: HardeningUpstream): number => upstream(name).requests().length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Serves again: waits out breaker cooldowns and retry-after skips (bounded), then expects a 200 from the EU primary. */
async function expectRecovered(apiKey = acmeKey): Promise<void> {
  clearFaults();
  let last: Answer | null = null;
  for (let attempt = 0; attempt < 20; attempt++) {
    last = await ask(apiKey);
    if (last.status === 200 && last.headers.get("x-palisade-region") === "westeurope") return;
    await sleep(250);
  }
  expect({ status: last?.status, region: last?.headers.get("x-palisade-region") }).toEqual({ status: 200, region: "westeurope" });
}

beforeAll(async () => {
  streamingPrimary = await startMockOpenAi({ ...HARDENING_UPSTREAMS.euWestStandard, chunkDelayInMs: 3 });
  gateway = await startGatewayStack({
    upstreams: HARDENING_UPSTREAMS,
    policy: (urls) =>
      hardeningPolicy({ ...urls, euWestStandard: streamingPrimary.url }, { upstreamTimeoutInMs: UPSTREAM_TIMEOUT_IN_MS, breakerCooldownInMs: BREAKER_COOLDOWN_IN_MS }),
  });
  acmeKey = await gateway.createKey("acme", "app");
  strictKey = await gateway.createKey("strict", "strict-app");
}, 90_000);

afterAll(async () => {
  // Order matters: the app's Service Bus client must close while a broker still answers (closing it
  // against a stopped broker hangs for over a minute).
  await gateway?.stop();
  await restartedServiceBus?.stop();
  await streamingPrimary?.stop();
}, 60_000);

describe("upstream faults: documented errors, failover inside the residency, recovery without a restart", () => {
  it("a 500 from the primary fails over to the other EU endpoint, never to the US", async () => {
    await expectRecovered();
    const us = callsTo("usEastStandard");
    upstream("euWestStandard").setFault({ status: 500, times: 1 });
    const answer = await ask(acmeKey);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-palisade-region")).toBe("swedencentral");
    expect(callsTo("usEastStandard")).toBe(us);
    await expectRecovered();
  });

  it("500 everywhere in the residency: 503 no_compliant_endpoint; the US endpoint is never tried", async () => {
    const us = callsTo("usEastStandard");
    upstream("euWestStandard").setFault({ status: 500 });
    upstream("euNorthStandard").setFault({ status: 500 });
    const answer = await ask(acmeKey);
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 503, code: "no_compliant_endpoint" });
    expect(callsTo("usEastStandard")).toBe(us);
    await expectRecovered();
  });

  it("429 with retry-after: fails over; everywhere rate limited: 503 no_compliant_endpoint with retry-after", async () => {
    upstream("euWestStandard").setFault({ status: 429, retryAfterSeconds: 1, times: 1 });
    const failover = await ask(acmeKey);
    expect(failover.status).toBe(200);
    expect(failover.headers.get("x-palisade-region")).toBe("swedencentral");
    await sleep(1_100);
    await expectRecovered();

    upstream("euWestStandard").setFault({ status: 429, retryAfterSeconds: 1 });
    upstream("euNorthStandard").setFault({ status: 429, retryAfterSeconds: 1 });
    const busy = await ask(acmeKey);
    expect({ status: busy.status, code: busy.code }).toEqual({ status: 503, code: "no_compliant_endpoint" });
    expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // While both are held back by their retry-after, nothing compliant is left to try.
    const held = await ask(acmeKey);
    expect(held.status).toBe(503);
    expect(["upstream_error", "no_compliant_endpoint"]).toContain(held.code);
    await sleep(1_100);
    await expectRecovered();
  });

  it("a slow upstream times out and fails over; slow everywhere: 503 no_compliant_endpoint, within the deadline", async () => {
    upstream("euWestStandard").setFault({ latencyInMs: UPSTREAM_TIMEOUT_IN_MS * 3, times: 1 });
    const startedAt = Date.now();
    const failover = await ask(acmeKey);
    expect(failover.status).toBe(200);
    expect(failover.headers.get("x-palisade-region")).toBe("swedencentral");
    expect(Date.now() - startedAt).toBeLessThan(UPSTREAM_TIMEOUT_IN_MS * 3);
    await expectRecovered();

    upstream("euWestStandard").setFault({ latencyInMs: UPSTREAM_TIMEOUT_IN_MS * 3, times: 1 });
    upstream("euNorthStandard").setFault({ latencyInMs: UPSTREAM_TIMEOUT_IN_MS * 3, times: 1 });
    const slow = await ask(acmeKey);
    expect({ status: slow.status, code: slow.code }).toEqual({ status: 503, code: "no_compliant_endpoint" });
    await sleep(UPSTREAM_TIMEOUT_IN_MS * 2);
    await expectRecovered();
  }, 30_000);

  it("dropped connections fail over; dropped everywhere: 503 no_compliant_endpoint", async () => {
    upstream("euWestStandard").setFault({ drop: true, times: 1 });
    const failover = await ask(acmeKey);
    expect(failover.status).toBe(200);
    expect(failover.headers.get("x-palisade-region")).toBe("swedencentral");
    await expectRecovered();

    upstream("euWestStandard").setFault({ drop: true });
    upstream("euNorthStandard").setFault({ drop: true });
    const dropped = await ask(acmeKey);
    expect({ status: dropped.status, code: dropped.code }).toEqual({ status: 503, code: "no_compliant_endpoint" });
    await expectRecovered();
  });

  it("pii goes only to zero-data-retention endpoints, and fails over between them", async () => {
    const standard = callsTo("euWestStandard") + callsTo("euNorthStandard") + callsTo("usEastStandard");
    upstream("euWestZdr").setFault({ status: 503, times: 1 });
    const answer = await ask(acmeKey, { classification: "pii" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-palisade-endpoint-class")).toBe("zdr");
    expect(answer.headers.get("x-palisade-region")).toBe("swedencentral");
    expect(callsTo("euWestStandard") + callsTo("euNorthStandard") + callsTo("usEastStandard")).toBe(standard);
    await expectRecovered();
  });

  it("a stream that fails before its first chunk fails over and completes", async () => {
    upstream("euWestStandard").setFault({ status: 500, times: 1 });
    const answer = await ask(acmeKey, { stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-palisade-region")).toBe("swedencentral");
    expect(streamedText(framesOf(answer.text))).toBe("This is a mock completion from eu-north-standard (swedencentral).");
    expect(answer.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    await expectRecovered();
  });

  it("a stream cut mid-way ends with an OpenAI error frame, never a [DONE]", async () => {
    upstream("euWestStandard").setFault({ truncateAfterChunks: 3, times: 1 });
    const answer = await ask(acmeKey, { stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-palisade-region")).toBe("westeurope");
    const frames = framesOf(answer.text);
    expect(streamedText(frames)).not.toContain("(westeurope).");
    expect(answer.text).not.toContain("[DONE]");
    const last = frames.at(-1);
    expect(isOpenAiError(last)).toBe(true);
    expect(isOpenAiError(last) ? last.error.code : null).toBe("upstream_error");
    await expectRecovered();
  });

  it("after every fault above, the gateway is healthy and serves both classes", async () => {
    clearFaults();
    expect((await fetch(`${gateway.host.url}/healthz`)).status).toBe(200);
    await expectRecovered();
    expect((await ask(acmeKey, { classification: "pii" })).status).toBe(200);
    expect((await ask(strictKey)).status).toBe(200);
  });
});

describe("the audit queue down and back", () => {
  it("while Service Bus is down, fail-closed projects get 503 audit_unavailable and outbox projects are served; after a restart on the same port, publishing resumes", async () => {
    expect((await ask(strictKey)).status).toBe(200);
    const port = gateway.stack.serviceBus.port;
    await gateway.stack.serviceBus.stop();

    const upstreamBefore = callsTo("euWestStandard");
    const startedAt = Date.now();
    const refused = await ask(strictKey);
    const refusedInMs = Date.now() - startedAt;
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 503, code: "audit_unavailable" });
    const served = await ask(acmeKey);
    expect(served.status).toBe(200);
    // The fail-closed answer is not held hostage by the SDK's retries for long.
    expect(refusedInMs).toBeLessThan(20_000);
    expect(callsTo("euWestStandard")).toBeGreaterThan(upstreamBefore);

    const restarted = await startServiceBusEmulator({ queues: [auditQueueDefinition()], port });
    restartedServiceBus = restarted;
    let after: Answer | null = null;
    for (let attempt = 0; attempt < 40; attempt++) {
      after = await ask(strictKey);
      if (after.status === 200) break;
      await sleep(500);
    }
    expect(after?.status).toBe(200);
    expect(restarted.queueDepth(AUDIT_QUEUE)).toBeGreaterThan(0);
  }, 120_000);
});
