import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { type CounterDelta, type UsageCounterStore } from "../../../src/core/limits/UsageCounterStore.js";
import { CounterUsageReader } from "../../../src/core/limits/UsageReader.js";
import { silentLogger } from "../../../src/core/logger.js";
import { type OperationKind } from "../../../src/core/policy/operationsPolicy.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

/** Remembers the keys of every apply, to count the rows a settlement writes. */
class RecordingStore extends InMemoryUsageCounterStore implements UsageCounterStore {
  readonly applied: (readonly CounterDelta[])[] = [];
  override async apply(...args: Parameters<InMemoryUsageCounterStore["apply"]>) {
    this.applied.push(args[1]);
    return super.apply(...args);
  }
}

async function settleOne(operation: OperationKind | undefined) {
  const policy = limitsPolicy({ budget: { dailyUsd: 100 } });
  const store = new RecordingStore();
  const guard = new LimitGuard({ store, clock: new ManualClock(Date.UTC(2026, 2, 10, 12)), policy, logger: silentLogger });
  const input = reserveInputFor(policy)(operation === undefined ? {} : { operation });
  await guard.settle(await guard.reserve(input), { inputTokens: 1000, outputTokens: 100 });
  return { store, reader: new CounterUsageReader(store) };
}

describe("LimitGuard: settled usage by operation", () => {
  it("counts each settlement under its operation on the project's day and month rows", async () => {
    const { reader } = await settleOne("embeddings");
    for (const [period, date] of [["day", "2026-03-10"], ["month", "2026-03"]] as const) {
      const report = await reader.getUsage({ project: "proj", period, date });
      // 1000 x 2.5 + 100 x 10 micro-dollars.
      expect(report.byOperation, period).toEqual([{ name: "embeddings", requests: 1, inputTokens: 1000, cachedInputTokens: 0, outputTokens: 100, costUsd: 0.0035, unpricedRequests: 0 }]);
      expect(report.total.costUsd).toBe(0.0035);
    }
  });

  it("writes the same rows in the same number of store calls as a settlement without one", async () => {
    const withOperation = await settleOne("chat");
    const without = await settleOne(undefined);
    expect(withOperation.store.applied.length).toBe(without.store.applied.length);
    expect(withOperation.store.applied.map((deltas) => deltas.map((delta) => delta.key))).toEqual(without.store.applied.map((deltas) => deltas.map((delta) => delta.key)));
    expect((await without.reader.getUsage({ project: "proj", period: "day", date: "2026-03-10" })).byOperation).toEqual([]);
  });
});
