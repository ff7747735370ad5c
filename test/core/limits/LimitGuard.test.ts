import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError, type PalisadeError } from "../../../src/core/errors.js";
import { type LogFields, type Logger, silentLogger } from "../../../src/core/logger.js";
import { projectPeriodKey } from "../../../src/core/limits/counterKeys.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { CounterUsageReader } from "../../../src/core/limits/UsageReader.js";
import { windowsAt } from "../../../src/core/limits/windows.js";
import { type Policy } from "../../../src/core/policy/schema.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

const START = Date.UTC(2026, 2, 10, 12, 0, 15);

function setup(policy: Policy, logger: Logger = silentLogger) {
  const store = new InMemoryUsageCounterStore();
  const clock = new ManualClock(START);
  const guard = new LimitGuard({ store, clock, policy, logger });
  const input = reserveInputFor(policy);
  return { store, clock, guard, input };
}

async function refusal(promise: Promise<unknown>): Promise<PalisadeError> {
  try {
    await promise;
  } catch (error) {
    if (isPalisadeError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("LimitGuard", () => {
  it("costs no store round trip for a project with no limits and no budget", async () => {
    const { store, guard, input } = setup(limitsPolicy());
    const reservation = await guard.reserve(input());
    expect(reservation.tracked).toBe(false);
    expect(reservation.headers).toEqual({});
    const settled = await guard.settle(reservation, { inputTokens: 1000, outputTokens: 100 });
    await guard.release(reservation);
    expect(settled.costUsd).toBeCloseTo(0.0035, 10);
    expect(store.applyCalls).toBe(0);
  });

  it("admits requests per minute up to the limit, refuses with OpenAI's headers, and opens again next minute", async () => {
    const { guard, input, clock } = setup(limitsPolicy({ limits: { requestsPerMinute: 3 } }));
    const first = await guard.reserve(input());
    expect(first.headers).toEqual({ "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "45s" });
    await guard.reserve(input());
    await guard.reserve(input());
    const refused = await refusal(guard.reserve(input()));
    expect(refused.status).toBe(429);
    expect(refused.code).toBe("rate_limit_exceeded");
    expect(refused.headers).toMatchObject({ "retry-after": "45", "retry-after-ms": "45000", "x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "3" });
    clock.advance(45_000);
    expect((await guard.reserve(input())).headers["x-ratelimit-remaining-requests"]).toBe("2");
  });

  it("limits the service account separately and reports the tighter limit", async () => {
    const { guard, input } = setup(limitsPolicy({ limits: { requestsPerMinute: 10 } }, { requestsPerMinute: 2 }));
    expect((await guard.reserve(input())).headers["x-ratelimit-remaining-requests"]).toBe("1");
    await guard.reserve(input());
    const refused = await refusal(guard.reserve(input()));
    expect(refused.message).toContain('service account "svc"');
    // Another caller of the project (no service account) still has room.
    const other = await guard.reserve(input({ serviceAccount: null, keyId: null }));
    expect(other.headers["x-ratelimit-remaining-requests"]).toBe("7");
  });

  it("reserves prompt + max tokens against TPM, and settles to the real usage", async () => {
    const { guard, input } = setup(limitsPolicy({ limits: { tokensPerMinute: 1000 } }));
    const reservation = await guard.reserve(input({ estimatedPromptTokens: 300, maxOutputTokens: 500 }));
    expect(reservation.headers["x-ratelimit-remaining-tokens"]).toBe("200");
    await refusal(guard.reserve(input({ estimatedPromptTokens: 100, maxOutputTokens: 200 })));
    await guard.settle(reservation, { inputTokens: 290, outputTokens: 10 });
    const next = await guard.reserve(input({ estimatedPromptTokens: 100, maxOutputTokens: 200 }));
    expect(next.headers["x-ratelimit-remaining-tokens"]).toBe(String(1000 - 300 - 300));
  });

  it("releases everything a failed call held", async () => {
    const { guard, input } = setup(limitsPolicy({ limits: { requestsPerMinute: 1, tokensPerMinute: 500 } }));
    const reservation = await guard.reserve(input({ estimatedPromptTokens: 200, maxOutputTokens: 200 }));
    await refusal(guard.reserve(input()));
    await guard.release(reservation);
    await guard.release(reservation); // idempotent
    const again = await guard.reserve(input({ estimatedPromptTokens: 200, maxOutputTokens: 200 }));
    expect(again.headers["x-ratelimit-remaining-tokens"]).toBe("100");
    expect(again.headers["x-ratelimit-remaining-requests"]).toBe("0");
  });

  it("tells a caller whose single request exceeds the token limit not to retry", async () => {
    const { guard, input } = setup(limitsPolicy({ limits: { tokensPerMinute: 100 } }));
    const refused = await refusal(guard.reserve(input({ estimatedPromptTokens: 80, maxOutputTokens: 50 })));
    expect(refused.code).toBe("rate_limit_exceeded");
    expect(refused.headers["x-should-retry"]).toBe("false");
    expect(refused.message).toContain("130 tokens");
  });

  it("refuses over the daily budget with budget_exceeded naming the period, until UTC midnight", async () => {
    // gpt4o-eu: $2.50 in, $10 out per 1M. 100 in + 50 out = $0.00075 held per request.
    const { guard, input } = setup(limitsPolicy({ budget: { dailyUsd: 0.002 } }));
    await guard.reserve(input());
    await guard.reserve(input());
    const refused = await refusal(guard.reserve(input()));
    expect(refused.status).toBe(429);
    expect(refused.code).toBe("budget_exceeded");
    expect(refused.param).toBe("day");
    expect(refused.message).toContain("daily budget");
    expect(refused.headers["retry-after"]).toBe(String((Date.UTC(2026, 2, 11) - START) / 1000));
    expect(refused.headers["x-should-retry"]).toBe("false");
  });

  it("names the month when the monthly budget is the one spent", async () => {
    const { guard, input } = setup(limitsPolicy({ budget: { dailyUsd: 100, monthlyUsd: 0.001 } }));
    await guard.reserve(input());
    const refused = await refusal(guard.reserve(input()));
    expect(refused.code).toBe("budget_exceeded");
    expect(refused.param).toBe("month");
    expect(refused.headers["retry-after"]).toBe(String((Date.UTC(2026, 3, 1) - START) / 1000));
  });

  it("refuses unpriced models only for projects with a budget", async () => {
    const budgeted = setup(limitsPolicy({ budget: { dailyUsd: 10 } }));
    const refused = await refusal(budgeted.guard.reserve(budgeted.input({ model: "mystery", deployment: "mystery" })));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe("model_not_priced");
    expect(budgeted.store.applyCalls).toBe(0);

    const unbudgeted = setup(limitsPolicy({ limits: { requestsPerMinute: 5 } }));
    const reservation = await unbudgeted.guard.reserve(unbudgeted.input({ model: "mystery", deployment: "mystery" }));
    const settled = await unbudgeted.guard.settle(reservation, { inputTokens: 10, outputTokens: 10 });
    expect(settled).toMatchObject({ costUsd: 0, priced: false, recorded: true });
  });

  it("fails closed when the store is down and the budget says so, open otherwise", async () => {
    const closed = setup(limitsPolicy({ budget: { dailyUsd: 10 } }));
    closed.store.failWith = new Error("connect ECONNREFUSED");
    const refused = await refusal(closed.guard.reserve(closed.input()));
    expect(refused.status).toBe(503);
    expect(refused.code).toBe("limits_unavailable");

    const open = setup(limitsPolicy({ budget: { dailyUsd: 10, failClosed: false } }));
    open.store.failWith = new Error("connect ECONNREFUSED");
    const reservation = await open.guard.reserve(open.input());
    expect(reservation.counted).toBe(false);
    expect(await open.guard.settle(reservation, { inputTokens: 1, outputTokens: 1 })).toMatchObject({ recorded: false });

    const limitsOnly = setup(limitsPolicy({ limits: { requestsPerMinute: 1 } }));
    limitsOnly.store.failWith = new Error("timeout");
    expect((await limitsOnly.guard.reserve(limitsOnly.input())).counted).toBe(false);
  });

  it("rate limits set to fail closed refuse with 503 limits_unavailable when the store is down; failing open is counted and logged", async () => {
    const closed = setup(limitsPolicy({ limits: { requestsPerMinute: 5, onStoreUnavailable: "fail_closed" } }));
    closed.store.failWith = new Error("connect ECONNREFUSED");
    const refused = await refusal(closed.guard.reserve(closed.input()));
    expect({ status: refused.status, type: refused.type, code: refused.code, retryAfter: refused.headers?.["retry-after"] }).toEqual({
      status: 503,
      type: "service_unavailable_error",
      code: "limits_unavailable",
      retryAfter: "1",
    });
    expect(refused.message).toContain("limits.onStoreUnavailable");
    expect(closed.guard.unenforcedAdmissions).toBe(0);

    // Either setting fails closed: limits fail closed though the budget would fail open.
    const both = setup(limitsPolicy({ limits: { tokensPerMinute: 50_000, onStoreUnavailable: "fail_closed" }, budget: { dailyUsd: 10, failClosed: false } }));
    both.store.failWith = new Error("timeout");
    expect((await refusal(both.guard.reserve(both.input()))).code).toBe("limits_unavailable");

    const warned: LogFields[] = [];
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => void warned.push(fields ?? {}) };
    const open = setup(limitsPolicy({ limits: { requestsPerMinute: 5, onStoreUnavailable: "fail_open" } }), logger);
    open.store.failWith = new Error("timeout");
    for (let index = 0; index < 3; index++) expect((await open.guard.reserve(open.input())).counted).toBe(false);
    expect(open.guard.unenforcedAdmissions).toBe(3);
    expect(warned.map((fields) => fields["unenforcedAdmissions"])).toEqual([1, 2, 3]);
    // The store is back: counted again.
    open.store.failWith = null;
    expect((await open.guard.reserve(open.input())).counted).toBe(true);
  });

  it("warns once when settled spend crosses the warning fraction and once when the budget is spent", async () => {
    const warned: LogFields[] = [];
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => void warned.push(fields ?? {}) };
    // $0.011 a day (warn at $0.0088); each call settles 1000 in + 150 out = $0.004.
    const { guard, input } = setup(limitsPolicy({ budget: { dailyUsd: 0.011, warnAtFraction: 0.8 } }), logger);
    const usage = { inputTokens: 1000, outputTokens: 150 };
    const small = { estimatedPromptTokens: 1000, maxOutputTokens: 150 };
    const results = [];
    for (let index = 0; index < 2; index++) results.push(await guard.settle(await guard.reserve(input(small)), usage));
    expect(results.map((result) => result.warnings)).toEqual([[], []]);
    results.push(await guard.settle(await guard.reserve(input({ estimatedPromptTokens: 100, maxOutputTokens: 10 })), { inputTokens: 1000, outputTokens: 150 }));
    // 0.008 -> 0.012 passes 0.0088 and 0.011: both thresholds crossed by this one settlement.
    expect(results[2]?.warnings).toEqual([
      { period: "day", fraction: 0.8, spentUsd: 0.012, budgetUsd: 0.011 },
      { period: "day", fraction: 1, spentUsd: 0.012, budgetUsd: 0.011 },
    ]);
    expect(warned.filter((fields) => fields["period"] === "day")).toHaveLength(2);
  });

  it("settles once: a second settle or a release after it changes nothing", async () => {
    const { guard, input, store } = setup(limitsPolicy({ budget: { dailyUsd: 10 } }));
    const reservation = await guard.reserve(input());
    await guard.settle(reservation, { inputTokens: 100, outputTokens: 50 });
    await guard.settle(reservation, { inputTokens: 100, outputTokens: 50 });
    await guard.release(reservation);
    const day = projectPeriodKey("day", windowsAt(START));
    const rows = [];
    for await (const row of store.list("proj", day)) rows.push(row);
    expect(rows[0]?.values).toMatchObject({ usd: 750, usdReserved: 0, requests: 1 });
  });

  it("settles a reservation that was copied as plain data (JSON round trip)", async () => {
    const { guard, input } = setup(limitsPolicy({ limits: { tokensPerMinute: 1000 } }));
    const reservation = await guard.reserve(input({ estimatedPromptTokens: 400, maxOutputTokens: 400 }));
    const copy = JSON.parse(JSON.stringify(reservation)) as typeof reservation;
    expect((await guard.settle(copy, { inputTokens: 100, outputTokens: 100 })).recorded).toBe(true);
    expect((await guard.reserve(input({ estimatedPromptTokens: 1, maxOutputTokens: 0 }))).headers["x-ratelimit-remaining-tokens"]).toBe("799");
  });

  it("writes rollups by key, model and tag that the usage reader reports", async () => {
    const { guard, input, store } = setup(limitsPolicy({ limits: { requestsPerMinute: 100 }, tags: { team: "search", costCentre: "cc-42" } }));
    await guard.settle(await guard.reserve(input()), { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 100 });
    await guard.settle(await guard.reserve(input({ keyId: "key-2", model: "gpt-4o-mini", deployment: "gpt-4o-mini" })), { inputTokens: 1000, outputTokens: 1000 });
    await guard.release(await guard.reserve(input()));
    const reader = new CounterUsageReader(store);
    const report = await reader.getUsage({ project: "proj", period: "day", date: "2026-03-10" });
    // key-1: 600 x 2.5 + 400 x 1.25 + 100 x 10 = 3000 micro-dollars; key-2: 1000 x 0.15 + 1000 x 0.6 = 750.
    expect(report.total).toMatchObject({ requests: 2, inputTokens: 2000, cachedInputTokens: 400, outputTokens: 1100, costUsd: 0.00375 });
    expect(report.byKey.map((line) => [line.name, line.costUsd])).toEqual([["key-1", 0.003], ["key-2", 0.00075]]);
    expect(report.byModel.map((line) => line.name)).toEqual(["gpt-4o", "gpt-4o-mini"]);
    expect(report.byTag.map((line) => [line.name, line.requests])).toEqual([["costCentre=cc-42", 2], ["team=search", 2]]);
    const month = await reader.getUsage({ project: "proj", period: "month", date: "2026-03" });
    expect(month.total.costUsd).toBe(0.00375);
    expect((await reader.getUsage({ project: "proj", period: "day", date: "2026-03-11" })).total.requests).toBe(0);
  });
});

describe("LimitGuard: counting the prompt only when a limit needs it", () => {
  it("never calls the estimate for a project with only a request limit, and calls it once for a tokens-per-minute limit", async () => {
    let calls = 0;
    const estimate = (): number => {
      calls += 1;
      return 120;
    };
    const requestsOnly = setup(limitsPolicy({ limits: { requestsPerMinute: 10 } }));
    const plain = await requestsOnly.guard.reserve(requestsOnly.input({ estimatedPromptTokens: estimate }));
    expect(calls).toBe(0);
    expect(plain.tracked).toBe(true);

    const withTokens = setup(limitsPolicy({ limits: { tokensPerMinute: 1_000 } }));
    const reserved = await withTokens.guard.reserve(withTokens.input({ estimatedPromptTokens: estimate, maxOutputTokens: 50 }));
    expect(calls).toBe(1);
    expect(reserved.reservedTokens).toBe(170);
    expect(reserved.headers["x-ratelimit-remaining-tokens"]).toBe("830");
  });

  it("counts the prompt for a budget, so its reservation is priced", async () => {
    let calls = 0;
    const budgeted = setup(limitsPolicy({ budget: { dailyUsd: 10 } }));
    const reservation = await budgeted.guard.reserve(budgeted.input({ estimatedPromptTokens: () => ++calls * 1_000, maxOutputTokens: 0 }));
    expect(calls).toBe(1);
    expect(reservation.reservedUsdMicros).toBe(2_500);
  });
});
