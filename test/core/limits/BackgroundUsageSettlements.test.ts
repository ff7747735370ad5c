import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { BackgroundUsageSettlements } from "../../../src/core/limits/BackgroundUsageSettlements.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { CounterUsageReader } from "../../../src/core/limits/UsageReader.js";
import { silentLogger } from "../../../src/core/logger.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

const START = Date.UTC(2026, 2, 10, 23, 59, 30);
const DAY = "2026-03-10";

/** A budgeted project whose background Response was created (settled at 100 input + the 5,000-token cap); two instances over one store. */
async function created(tags: Record<string, string> = {}) {
  const policy = limitsPolicy({ budget: { dailyUsd: 100 }, tags });
  const store = new InMemoryUsageCounterStore();
  const clock = new ManualClock(START);
  const guard = new LimitGuard({ store, clock, policy, logger: silentLogger });
  const instances = [0, 1].map(() => new BackgroundUsageSettlements({ store, policy, logger: silentLogger }));
  const reservation = await guard.reserve(reserveInputFor(policy)({ maxOutputTokens: 5_000, operation: "responses" }));
  const tokens = { inputTokens: 100, outputTokens: 5_000 };
  await guard.settle(reservation, tokens);
  await instances[0]?.recordCreate({ responseId: "resp_bg", reservation, tokens });
  const usage = async () => (await new CounterUsageReader(store).getUsage({ project: "proj", period: "day", date: DAY })).total;
  return { store, clock, instances, usage };
}

const finished = (status: string, usage: unknown = { input_tokens: 120, input_tokens_details: { cached_tokens: 20 }, output_tokens: 300 }) => ({
  projectId: "proj",
  responseId: "resp_bg",
  model: "gpt-4o",
  deployment: "gpt4o-eu",
  response: { id: "resp_bg", object: "response", background: true, status, usage },
});

describe("a background Response's usage, settled once it ends", () => {
  it("the first read that sees it completed puts the real usage and cost on the create's day, once, though two instances read it at once (the day has turned since)", async () => {
    const { clock, instances, usage } = await created({ team: "search" });
    expect(await usage()).toMatchObject({ inputTokens: 100, outputTokens: 5_000, costUsd: 0.05025 });
    clock.advance(60_000);
    const settled = await Promise.all(instances.map((instance) => instance.settleFinished(finished("completed"))));
    expect(settled.sort()).toEqual([false, true]);
    // 100 uncached input at $2.50/1M, 20 cached at $1.25/1M, 300 output at $10/1M.
    expect(await usage()).toMatchObject({ inputTokens: 120, cachedInputTokens: 20, outputTokens: 300, requests: 1, costUsd: 0.003275 });
    expect(await instances[1]?.settleFinished(finished("completed"))).toBe(false);
    expect(await usage()).toMatchObject({ inputTokens: 120, outputTokens: 300, costUsd: 0.003275 });
  });

  it("the rollups by key, model and tag move with the project's row", async () => {
    const { store, instances } = await created({ team: "search" });
    await instances[1]?.settleFinished(finished("cancelled", { input_tokens: 100, output_tokens: 0 }));
    const rows = new Map<string, Readonly<Record<string, number>>>();
    for await (const row of store.list("proj", `R|d|${DAY}|`)) rows.set(row.key, row.values);
    for (const key of [`R|d|${DAY}|p`, `R|d|${DAY}|k:key-1`, `R|d|${DAY}|m:gpt-4o`, `R|d|${DAY}|t:team=search`]) expect(rows.get(key)).toMatchObject({ inputTokens: 100, outputTokens: 0, usd: 250 });
    expect(rows.get(`R|d|${DAY}|p`)).toMatchObject({ op_responses_outputTokens: 0, op_responses_usd: 250 });
  });

  it("nothing moves for a Response still running, one without usage, one not in the background, or one whose create left no row", async () => {
    const { store, instances, usage } = await created();
    const before = await usage();
    const calls = store.applyCalls;
    const instance = instances[1];
    expect(await instance?.settleFinished(finished("in_progress", null))).toBe(false);
    expect(await instance?.settleFinished(finished("completed", null))).toBe(false);
    expect(await instance?.settleFinished({ ...finished("completed"), response: { ...finished("completed").response, background: false } })).toBe(false);
    expect(await instance?.settleFinished({ ...finished("completed"), responseId: "resp_other" })).toBe(false);
    expect(store.applyCalls).toBe(calls);
    expect(await usage()).toEqual(before);
  });

  it("a store that fails leaves the count at the reservation, and a later read settles it", async () => {
    const { store, instances, usage } = await created();
    store.failWith = new Error("unreachable");
    expect(await instances[0]?.settleFinished(finished("completed"))).toBe(false);
    store.failWith = null;
    expect(await usage()).toMatchObject({ outputTokens: 5_000 });
    expect(await instances[0]?.settleFinished(finished("completed"))).toBe(true);
    expect(await usage()).toMatchObject({ outputTokens: 300 });
  });
});
