import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type Answer, ask, drive, eventually, sleep } from "../support/drive.js";
import { type FaultStack, startFaultStack } from "../support/faultStack.js";

let f: FaultStack;
beforeAll(async () => {
  f = await startFaultStack();
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

/** The invariants every fault must keep, checked once the fault is over. */
async function expectEveryAnswerAccountedFor(answers: readonly Answer[], chainId: string): Promise<AuditEvent[]> {
  // No 500: a dependency that is down is a 503 the client may retry.
  const failures = answers.filter((a) => a.status >= 300);
  expect(failures.filter((a) => a.status !== 503), JSON.stringify(failures.slice(0, 3))).toEqual([]);
  for (const failure of failures) expect(failure.retryAfter, failure.requestId).not.toBeNull();
  // No request waits long for a partitioned dependency (try timeout 1.5 s × 2 here; 4 s × 2 in production).
  expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(6_000);
  // Every 2xx ends up in the chain exactly once, as a success.
  const served = answers.filter((a) => a.status === 200).map((a) => a.requestId);
  expect(served.length).toBeGreaterThan(0);
  let events: AuditEvent[] = [];
  const complete = await eventually(async () => {
    events = await f.chain(chainId);
    const recorded = new Set(events.map((e) => e.requestId));
    return served.every((id) => recorded.has(id));
  }, 40_000);
  const calls = events.filter((e) => e.type === "api_call");
  const missing = served.filter((id) => !calls.some((e) => e.requestId === id));
  expect({ complete, missing: missing.length }).toEqual({ complete: true, missing: 0 });
  for (const id of served) expect(calls.filter((e) => e.requestId === id && e.status === "success"), id).toHaveLength(1);
  return events;
}

describe("fault injection: Table Storage outages (TCP proxy in front of Azurite's table endpoint)", () => {
  it("refused for 10 s: answers are 2xx or fast 503 dependency_unavailable (never 500), every 2xx is in the chain once, verify agrees", async () => {
    const key = await f.createKey("ob", "app");
    const unseenKey = await f.createKey("ob", "app");
    expect((await ask(f.baseUrl, key, "warm-1")).status).toBe(200);
    const traffic = drive(f.baseUrl, key, { prefix: "refused", durationInMs: 13_000, concurrency: 3 });
    await sleep(1_500);
    await f.table.setMode("refuse");
    const outageStarted = performance.now();
    await sleep(1_500);
    // A key not in the cache needs Table Storage: a fast 503 naming the dependency, with retry-after.
    const unseen = await ask(f.baseUrl, unseenKey, "unseen-key");
    expect(unseen).toMatchObject({ status: 503, code: "dependency_unavailable", retryAfter: "5" });
    expect(unseen.ms).toBeLessThan(4_000);
    await sleep(10_000 - (performance.now() - outageStarted));
    await f.table.setMode("pass");
    const answers = await traffic;
    await expectEveryAnswerAccountedFor(answers, "ob");

    const verdict = await f.cli("audit", "verify", "--chain", "ob", "--json");
    expect(verdict.exitCode, verdict.stderr).toBe(0);
    expect(JSON.parse(verdict.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ intact: true, complete: true });
  }, 80_000);

  it("black-holed for 12 s (6 times the trigger's hold): nothing served is lost; what the broker dead-lettered is replayed by the timer; verify agrees", async () => {
    const key = await f.createKey("ob", "app");
    expect((await ask(f.baseUrl, key, "warm-2")).status).toBe(200);
    const traffic = drive(f.baseUrl, key, { prefix: "blackholed", durationInMs: 15_000, concurrency: 3 });
    await sleep(1_500);
    await f.table.setMode("blackhole");
    await sleep(12_000);
    await f.table.setMode("pass");
    const answers = await traffic;
    // The replay timer, run on demand, brings back whatever the broker dead-lettered meanwhile.
    const replayer = setInterval(() => void f.host.runTimer("replayAuditDeadLetters").catch(() => undefined), 2_000);
    try {
      await expectEveryAnswerAccountedFor(answers, "ob");
    } finally {
      clearInterval(replayer);
    }
    await f.host.runTimer("replayAuditDeadLetters");
    const verdict = await f.cli("audit", "verify", "--chain", "ob", "--json");
    expect(verdict.exitCode, verdict.stderr).toBe(0);
    expect(JSON.parse(verdict.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ intact: true, complete: true, pending: { deadLetterQueue: 0 } });
  }, 120_000);
});
