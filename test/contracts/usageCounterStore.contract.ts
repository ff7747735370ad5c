import { describe, expect, it } from "vitest";
import {
  type CounterDelta,
  type CounterHold,
  type CounterRow,
  type CounterValues,
  HOLD_PREFIX,
  holdOf,
  holdsAnything,
  type UsageCounterStore,
} from "../../src/core/limits/UsageCounterStore.js";

/**
 * The one contract every UsageCounterStore meets, run against the in-memory fake and against
 * TableUsageCounterStore on Azurite. `open(n)` returns n store instances over ONE shared backing
 * store: for the Table adapter, n separate TableClients, i.e. n app instances.
 */

export interface UsageCounterStoreHarness {
  readonly instances: readonly UsageCounterStore[];
  dispose(): Promise<void>;
}

const limited = (key: string, amount: number, max: number): CounterDelta => ({ key, add: { n: amount }, limit: { fields: ["n"], max } });

async function collect(rows: AsyncIterable<CounterRow>): Promise<CounterRow[]> {
  const out: CounterRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

export function describeUsageCounterStoreContract(label: string, open: (instanceCount: number) => Promise<UsageCounterStoreHarness>): void {
  describe(`UsageCounterStore contract: ${label}`, () => {
    async function withStores(count: number, body: (stores: readonly UsageCounterStore[]) => Promise<void>): Promise<void> {
      const harness = await open(count);
      try {
        await body(harness.instances);
      } finally {
        await harness.dispose();
      }
    }
    const first = (stores: readonly UsageCounterStore[]): UsageCounterStore => {
      const store = stores[0];
      if (store === undefined) throw new Error("the harness opened no store");
      return store;
    };

    it("creates missing counters at zero and returns every touched counter after the change", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        const result = await store.apply("proj-a", [
          { key: "L|a", add: { reserved: 5, settled: 0 } },
          { key: "L|b", add: { requests: 1 } },
        ]);
        expect(result.applied).toBe(true);
        expect(result.counters["L|a"]).toEqual({ reserved: 5, settled: 0 });
        const again = await store.apply("proj-a", [{ key: "L|a", add: { reserved: -2, settled: 7 } }]);
        expect(again.counters["L|a"]).toEqual({ reserved: 3, settled: 7 });
      });
    });

    it("refuses the whole apply when one limited counter would go over, and changes nothing", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        await store.apply("proj-a", [limited("L|a", 9, 10)]);
        const refused = await store.apply("proj-a", [limited("L|b", 1, 10), limited("L|a", 2, 10), { key: "R|x", add: { n: 1 } }]);
        expect(refused.applied).toBe(false);
        if (refused.applied) return;
        expect(refused.refused).toEqual(["L|a"]);
        expect(refused.counters["L|a"]).toEqual({ n: 9 });
        const rows = await collect(store.list("proj-a", ""));
        expect(rows).toEqual([{ key: "L|a", values: { n: 9 } }]);
        // Exactly at the limit is allowed.
        expect((await store.apply("proj-a", [limited("L|a", 1, 10)])).applied).toBe(true);
      });
    });

    it("sums several fields against one limit and lets decreases through even above it", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        const tokens = (reserved: number, settled: number): CounterDelta => ({
          key: "L|tok",
          add: { reserved, settled },
          limit: { fields: ["reserved", "settled"], max: 100 },
        });
        expect((await store.apply("p", [tokens(60, 0)])).applied).toBe(true);
        expect((await store.apply("p", [{ key: "L|tok", add: { reserved: -60, settled: 130 } }])).applied).toBe(true);
        expect((await store.apply("p", [tokens(1, 0)])).applied).toBe(false);
        expect((await store.apply("p", [tokens(-1, 0)])).applied).toBe(true);
      });
    });

    it("combines several deltas on one counter in one apply", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        const result = await store.apply("p", [
          { key: "R|d|2026-01-01|p", add: { usdReserved: -500 } },
          { key: "R|d|2026-01-01|p", add: { usd: 300, requests: 1 } },
        ]);
        expect(result.counters["R|d|2026-01-01|p"]).toEqual({ usdReserved: -500, usd: 300, requests: 1 });
      });
    });

    it("lists one partition's counters by key prefix, in key order", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        await store.apply("p1", [
          { key: "R|d|2026-01-02|p", add: { usd: 1 } },
          { key: "R|d|2026-01-01|t:team=a~2Fb", add: { usd: 2 } },
          { key: "R|d|2026-01-01|k:key-1", add: { usd: 3 } },
          { key: "R|d|2026-01-01|p", add: { usd: 4 } },
          { key: "R|M|2026-01|p", add: { usd: 5 } },
        ]);
        await store.apply("p2", [{ key: "R|d|2026-01-01|p", add: { usd: 99 } }]);
        const day = await collect(store.list("p1", "R|d|2026-01-01|"));
        expect(day.map((row) => row.key)).toEqual(["R|d|2026-01-01|k:key-1", "R|d|2026-01-01|p", "R|d|2026-01-01|t:team=a~2Fb"]);
        expect(day.map((row) => row.values["usd"])).toEqual([3, 4, 2]);
        expect(await collect(store.list("p3", "R|"))).toEqual([]);
      });
    });

    it("keeps large integers exact (micro-dollar totals beyond 32 bits)", async () => {
      await withStores(1, async (stores) => {
        const store = first(stores);
        await store.apply("p", [{ key: "R|M|2026-01|p", add: { usd: 2 ** 40 + 7 } }]);
        const result = await store.apply("p", [{ key: "R|M|2026-01|p", add: { usd: 1 } }]);
        expect(result.counters["R|M|2026-01|p"]).toEqual({ usd: 2 ** 40 + 8 });
      });
    });

    it("admits exactly the limit when 300 concurrent calls race from 4 instances at a limit of 100", async () => {
      await withStores(4, async (stores) => {
        const calls = Array.from({ length: 300 }, (_, index) => {
          const store = stores[index % stores.length];
          if (store === undefined) throw new Error("no store");
          return store.apply("race", [limited("L|m|1|req|p", 1, 100)]);
        });
        const results = await Promise.all(calls);
        expect(results.filter((result) => result.applied)).toHaveLength(100);
        const rows = await collect(first(stores).list("race", "L|"));
        expect(rows).toEqual([{ key: "L|m|1|req|p", values: { n: 100 } }]);
      });
    });

    it("moves every counter of a request together under contention (project and key limits)", async () => {
      await withStores(3, async (stores) => {
        const calls = Array.from({ length: 240 }, (_, index) => {
          const store = stores[index % stores.length];
          if (store === undefined) throw new Error("no store");
          const key = index % 2 === 0 ? "a" : "b";
          const deltas = [limited("L|m|1|req|p", 1, 100), key === "a" ? limited("L|m|1|req|sa:a", 1, 30) : { key: "L|m|1|req|sa:b", add: { n: 1 } }];
          return store.apply("race2", deltas).then((result) => ({ key, applied: result.applied }));
        });
        const results = await Promise.all(calls);
        const acceptedA = results.filter((result) => result.applied && result.key === "a").length;
        const acceptedB = results.filter((result) => result.applied && result.key === "b").length;
        expect(acceptedA + acceptedB).toBe(100);
        expect(acceptedA).toBeLessThanOrEqual(30);
        const rows = Object.fromEntries((await collect(first(stores).list("race2", "L|"))).map((row) => [row.key, row.values["n"]]));
        expect(rows).toEqual({ "L|m|1|req|p": 100, "L|m|1|req|sa:a": acceptedA, "L|m|1|req|sa:b": acceptedB });
      });
    });

    describe("holds: what an owner reserved comes back after it stops renewing", () => {
      const budget = (owner: string, micros: number): CounterDelta => ({
        key: "R|d|2026-01-01|p",
        add: { usdReserved: micros },
        limit: { fields: ["usdReserved", "usd"], max: 1_000 },
        heldBy: owner,
      });
      const giveBack = (owner: string, micros: number): CounterDelta => ({ key: "R|d|2026-01-01|p", add: { usdReserved: -micros }, heldBy: owner });
      const counter = async (store: UsageCounterStore): Promise<CounterValues | undefined> => (await collect(store.list("p", "R|"))).find((row) => row.key === "R|d|2026-01-01|p")?.values;
      const holds = async (store: UsageCounterStore): Promise<CounterHold[]> =>
        (await collect(store.list("p", HOLD_PREFIX))).map(holdOf).filter((hold): hold is CounterHold => hold !== null && holdsAnything(hold.values));

      it("records the owner and expiry of what a held delta adds, and caps taking back at what is held", async () => {
        await withStores(1, async (stores) => {
          const store = first(stores);
          expect((await store.apply("p", [budget("i-1", 300)], { holdExpiresAtMs: 10_000 })).applied).toBe(true);
          expect((await store.apply("p", [budget("i-2", 200)], { holdExpiresAtMs: 12_000 })).applied).toBe(true);
          expect(await holds(store)).toEqual([
            { owner: "i-1", key: "R|d|2026-01-01|p", values: { usdReserved: 300 }, expiresAtMs: 10_000 },
            { owner: "i-2", key: "R|d|2026-01-01|p", values: { usdReserved: 200 }, expiresAtMs: 12_000 },
          ]);
          // i-2 takes back more than it holds: only its 200 come off the counter, not i-1's.
          await store.apply("p", [giveBack("i-2", 250)]);
          expect((await counter(store))?.usdReserved).toBe(300);
          expect((await holds(store)).map((hold) => hold.owner)).toEqual(["i-1"]);
        });
      });

      it("reclaims expired holds only: the counter goes down by what the dead owner held, once", async () => {
        await withStores(2, async (stores) => {
          const [owner, other] = [first(stores), stores[1] ?? first(stores)];
          await owner.apply("p", [budget("dead", 400)], { holdExpiresAtMs: 5_000 });
          await owner.apply("p", [budget("alive", 100)], { holdExpiresAtMs: 5_000 });
          expect(await other.renewHolds("p", "alive", 20_000)).toBe(1);
          expect(await other.reclaimExpiredHolds("p", 4_999)).toEqual([]);
          const reclaimed = await other.reclaimExpiredHolds("p", 6_000);
          expect(reclaimed).toEqual([{ owner: "dead", key: "R|d|2026-01-01|p", values: { usdReserved: 400 }, expiresAtMs: 5_000 }]);
          expect((await counter(other))?.usdReserved).toBe(100);
          expect(await other.reclaimExpiredHolds("p", 7_000)).toEqual([]);
          // The budget it held is usable again: 900 more fit under 1,000.
          expect((await other.apply("p", [budget("alive", 900)], { holdExpiresAtMs: 20_000 })).applied).toBe(true);
          // The owner was only slow: its late settlement gives back nothing that was already reclaimed.
          await owner.apply("p", [giveBack("dead", 400)]);
          expect((await counter(owner))?.usdReserved).toBe(1_000);
          expect((await holds(owner)).map((hold) => [hold.owner, hold.values.usdReserved])).toEqual([["alive", 1_000]]);
        });
      });

      it("a write by the owner keeps its hold alive, and an apply that adds to a hold needs an expiry", async () => {
        await withStores(1, async (stores) => {
          const store = first(stores);
          await store.apply("p", [budget("i-1", 10)], { holdExpiresAtMs: 1_000 });
          await store.apply("p", [giveBack("i-1", 5)], { holdExpiresAtMs: 9_000 });
          expect(await store.reclaimExpiredHolds("p", 2_000)).toEqual([]);
          expect((await holds(store))[0]?.expiresAtMs).toBe(9_000);
          await expect(store.apply("p", [budget("i-1", 1)])).rejects.toThrow(/holdExpiresAtMs/);
        });
      });
    });
  });
}
