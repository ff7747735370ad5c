import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { slowWordStream, startScriptedUpstream, type ScriptedUpstream } from "../hardening/scriptedUpstream.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type RunningHostProcesses, type StoppedHost, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";

/**
 * Outside testing: an instance told to stop (SIGTERM, what Azure and every process manager send)
 * while streams are in flight. Whatever the callers saw, nothing answered may be unaudited: every
 * request that got a 200 has its api_call in the ledger once the queue is drained. The instance is a
 * separate `palisade host` process (the compiled app); this process runs the stack and the audit
 * consumer, and counts.
 */

const MODEL = "gpt-4o-mini";
const STREAMS = 4;
/** Each scripted stream: 40 chunks 100 ms apart (4 s), so SIGTERM lands mid-stream. */
const CHUNKS = 40;
const CHUNK_DELAY_IN_MS = 100;

let upstream: ScriptedUpstream;
let gateway: GatewayStack<"unused">;
let hosts: RunningHostProcesses | undefined;
let appKey: string;

function policy(): PolicyInput {
  const models = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [{ id: "acme", residency: "eu", models, maxTokens: 512, auditOnPublishFailure: "outbox" }],
    serviceAccounts: [{ id: "app", project: "acme", permissions: ["chat.completions"] }],
    endpoints: [
      { id: "scripted", provider: "azure", baseUrl: upstream.url, region: "westeurope", residency: "eu", class: "standard", deployments: [MODEL], auth: { kind: "none" }, timeoutInMs: 30_000 },
    ],
  };
}

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy, runServiceBusTriggers: true });
  appKey = await gateway.createKey("acme", "app");
  await ensureBuilt();
}, 300_000);

/** One `palisade host` instance (the compiled app), with this drain on SIGTERM. */
const startInstance = async (drainInMs: number): Promise<RunningHostProcesses> =>
  (hosts = await startHostProcesses({
    count: 1,
    environment: { ...gateway.stack.environment, PALISADE_POLICY: process.env.PALISADE_POLICY ?? "" },
    args: ["--no-timers", "--no-service-bus", "--drain", String(drainInMs)],
    stopTimeoutInMs: 15_000,
  }));

afterAll(async () => {
  await hosts?.stop();
  await gateway?.stop();
  await upstream?.stop();
}, 60_000);

interface StreamOutcome {
  readonly requestId: string;
  readonly status: number;
  text: string;
  ending: "done" | "error frame" | "cut" | "open";
}


/** Starts a streamed request; resolves once its first content arrived, with the outcome filled in as it goes. */
async function startStream(url: string, requestId: string): Promise<{ outcome: StreamOutcome; finished: Promise<void> }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${appKey}`, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Tell me a long story." }], stream: true }),
    signal: AbortSignal.timeout(30_000),
  });
  const outcome: StreamOutcome = { requestId, status: response.status, text: "", ending: "open" };
  const reader = response.body?.getReader();
  if (!reader) throw new Error("no body");
  const decoder = new TextDecoder();
  let firstContent: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (firstContent = resolve));
  const finished = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        outcome.text += decoder.decode(value, { stream: true });
        if (outcome.text.includes('"content":"word')) firstContent();
      }
      outcome.ending = outcome.text.includes("data: [DONE]") ? "done" : outcome.text.includes('"error"') ? "error frame" : "cut";
    } catch {
      outcome.ending = outcome.text.includes('"error"') ? "error frame" : "cut";
    }
    firstContent();
  })();
  await started;
  return { outcome, finished };
}

async function ledger(): Promise<AuditEvent[]> {
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const events: AuditEvent[] = [];
  for await (const event of queryAuditEvents(services.audit.ledger, { chainId: "acme" })) events.push(event);
  return events;
}

/** Scripts `STREAMS` slow streams, starts them on a fresh instance, SIGTERMs it mid-way; what each caller saw, and how the instance ended. */
async function sigtermMidStreams(drainInMs: number): Promise<{ stopped: readonly StoppedHost[]; outcomes: StreamOutcome[] }> {
  const instance = await startInstance(drainInMs);
  for (let index = 0; index < STREAMS; index += 1) {
    upstream.answerNext(slowWordStream(MODEL, CHUNKS, CHUNK_DELAY_IN_MS));
  }
  const streams = await Promise.all(Array.from({ length: STREAMS }, (_, index) => startStream(instance.urls[0] ?? "", `sigterm-${drainInMs}-${index}-${Date.now()}`)));
  const stopped = await instance.stop();
  await Promise.all(streams.map((stream) => stream.finished));
  const outcomes = streams.map((stream) => stream.outcome);
  process.stderr.write(`sigtermMidStream (drain ${drainInMs} ms): host ${JSON.stringify(stopped)}; streams ${JSON.stringify(outcomes.map(({ status, ending, text }) => ({ status, ending, bytes: text.length })))}\n`);
  return { stopped, outcomes };
}

/** Each answered request's api_call in the ledger (through the queue, drained by this process's consumer), waiting up to 45 s. */
async function auditedCalls(outcomes: readonly StreamOutcome[]): Promise<AuditEvent[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const calls = (await ledger()).filter((event) => event.type === "api_call" && outcomes.some((outcome) => outcome.requestId === event.requestId));
    if (calls.length >= outcomes.length || Date.now() > deadline) return calls;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe("SIGTERM to an instance with streams in flight", () => {
  it(`streams shorter than the drain: they finish with [DONE], the instance exits by itself, every 200 is audited once`, async () => {
    const { stopped, outcomes } = await sigtermMidStreams(10_000);
    expect(stopped[0]?.graceful, "the instance did not exit on SIGTERM within 15 s").toBe(true);
    expect(outcomes.map((outcome) => `${outcome.status} ${outcome.ending}`)).toEqual(Array.from({ length: STREAMS }, () => "200 done"));
    const calls = await auditedCalls(outcomes);
    for (const outcome of outcomes) expect(calls.filter((event) => event.requestId === outcome.requestId), outcome.requestId).toHaveLength(1);
  }, 120_000);

  it(`streams longer than the drain: cut when it ends, and still every 200 is audited once`, async () => {
    const { stopped, outcomes } = await sigtermMidStreams(300);
    expect(stopped[0]?.graceful, "the instance did not exit on SIGTERM within 15 s").toBe(true);
    expect(outcomes.every((outcome) => outcome.status === 200 && outcome.ending !== "done")).toBe(true);
    const calls = await auditedCalls(outcomes);
    for (const outcome of outcomes) expect(calls.filter((event) => event.requestId === outcome.requestId), `${outcome.requestId} (${outcome.ending})`).toHaveLength(1);
  }, 120_000);
});
