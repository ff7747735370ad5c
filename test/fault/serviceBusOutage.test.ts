import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";
import { type Answer, ask, drive, eventually, sleep } from "../support/drive.js";
import { type FaultStack, startFaultStack } from "../support/faultStack.js";
import { type FaultMode } from "../support/faultProxy.js";

let f: FaultStack;
beforeAll(async () => {
  f = await startFaultStack();
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

async function outboxEmpty(): Promise<boolean> {
  await f.host.runTimer("drainAuditOutbox").catch(() => undefined);
  for await (const _event of f.services.audit.outbox.list({ limit: 1 })) return false;
  return true;
}

/** Waits for the outbox to drain and every 2xx to be in its chain; returns the chain. */
async function expectServedRecordedOnce(answers: readonly Answer[], chainId: string): Promise<AuditEvent[]> {
  const served = answers.filter((a) => a.status === 200).map((a) => a.requestId);
  let events: AuditEvent[] = [];
  const done = await eventually(async () => {
    if (!(await outboxEmpty())) return false;
    events = await f.chain(chainId);
    // A served request has two events (its admission, then its outcome): wait for the outcome.
    const outcomes = new Set(events.filter((e) => e.type === "api_call").map((e) => e.requestId));
    return served.every((id) => outcomes.has(id));
  }, 40_000, 500);
  expect(done).toBe(true);
  for (const id of served) expect(events.filter((e) => e.type === "api_call" && e.requestId === id && e.status === "success"), id).toHaveLength(1);
  return events;
}

async function outage(mode: FaultMode, label: string): Promise<void> {
  const ob = await f.createKey("ob", "app");
  const fc = await f.createKey("fc", "app");
  expect((await ask(f.baseUrl, ob, `${label}-warm-ob`)).status).toBe(200);
  expect((await ask(f.baseUrl, fc, `${label}-warm-fc`)).status).toBe(200);
  const outboxTraffic = drive(f.baseUrl, ob, { prefix: `${label}-ob`, durationInMs: 13_000, concurrency: 2 });
  const failClosedTraffic = drive(f.baseUrl, fc, { prefix: `${label}-fc`, durationInMs: 13_000, concurrency: 2 });
  await sleep(1_500);
  await f.serviceBus.setMode(mode);
  await sleep(10_000);
  await f.serviceBus.setMode("pass");
  const [obAnswers, fcAnswers] = await Promise.all([outboxTraffic, failClosedTraffic]);

  // The request path never waits on the partition: publish timeout 1 s here (2 s in production), then the breaker.
  const slowest = Math.max(...[...obAnswers, ...fcAnswers].map((a) => a.ms));
  expect(slowest).toBeLessThan(4_000);
  // outbox: the outage is invisible to clients; fail_closed: fast 503 audit_unavailable, never 500.
  expect(obAnswers.filter((a) => a.status !== 200)).toEqual([]);
  const refused = fcAnswers.filter((a) => a.status !== 200);
  expect(refused.length).toBeGreaterThan(0);
  for (const answer of refused) expect(answer).toMatchObject({ status: 503, code: "audit_unavailable", retryAfter: "5" });

  await expectServedRecordedOnce(obAnswers, "ob");
  const fcEvents = await expectServedRecordedOnce(fcAnswers, "fc");
  // A refused request that was admitted (its upstream call may have run) must have its refusal in the chain:
  // during the outage the refusal goes to the outbox (the refusal fallback) and reaches the chain after it.
  let fcChain = fcEvents;
  const eventsOf = (requestId: string): AuditEvent[] => fcChain.filter((e) => e.requestId === requestId);
  const admittedWithoutRefusal = (): Answer[] =>
    refused.filter((a) => eventsOf(a.requestId).some((e) => e.type === "request_admitted") && !eventsOf(a.requestId).some((e) => e.type === "api_call" && e.status !== "success"));
  await eventually(async () => {
    await outboxEmpty();
    fcChain = await f.chain("fc");
    return admittedWithoutRefusal().length === 0;
  }, 20_000, 500);
  const admitted = refused.filter((a) => eventsOf(a.requestId).some((e) => e.type === "request_admitted")).length;
  // ...and a success the broker kept without acknowledging it is superseded by that refusal.
  const uncorrectedSuccess = refused.filter((a) => eventsOf(a.requestId).some((e) => e.type === "api_call" && e.status === "success" && !fcChain.some((c) => c.details?.supersedes === e.eventId))).length;
  console.info(`[${label}] fail_closed refusals: ${refused.length}, admitted first: ${admitted}, admitted without a recorded refusal: ${admittedWithoutRefusal().length}, success left uncorrected: ${uncorrectedSuccess}`);
  expect(admittedWithoutRefusal()).toEqual([]);
  expect(uncorrectedSuccess).toBe(0);

  for (const chain of ["ob", "fc"]) {
    const verdict = await f.cli("audit", "verify", "--chain", chain, "--json");
    expect(verdict.exitCode, verdict.stderr).toBe(0);
    expect(JSON.parse(verdict.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ intact: true, complete: true });
  }
}

describe("fault injection: Service Bus outages (TCP proxy in front of the emulator)", () => {
  it("black-holed for 10 s: outbox projects are served as usual, fail_closed ones get fast 503s, every 2xx is recorded once", async () => {
    await outage("blackhole", "sb-blackhole");
  }, 90_000);

  it("refused for 10 s: the same", async () => {
    await outage("refuse", "sb-refuse");
  }, 90_000);

  it("the consumer's connection killed mid-batch: every event appended exactly once, the chain verifies", async () => {
    const publisher = f.services.audit.publisherFor("outbox");
    const events = Array.from({ length: 400 }, (_, i) => makeAuditEvent({ project: "kill" }, i));
    for (let i = 0; i < events.length; i += 50) await publisher.publish(events.slice(i, i + 50));
    // Kill the trigger's connection while it is appending (the chain has started but is not done).
    expect(await eventually(async () => ((await f.services.audit.ledger.getHead("kill"))?.size ?? 0) > 0, 20_000, 20)).toBe(true);
    await f.serviceBus.setMode("refuse");
    await sleep(1_000);
    await f.serviceBus.setMode("pass");
    expect(await eventually(async () => ((await f.services.audit.ledger.getHead("kill"))?.size ?? 0) >= events.length, 40_000)).toBe(true);
    await sleep(1_000);
    const chain = await f.chain("kill");
    expect(chain.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    const verdict = await f.cli("audit", "verify", "--chain", "kill", "--json");
    expect(verdict.exitCode, verdict.stderr).toBe(0);
  }, 80_000);
});
