import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { TableUsageCounterStore } from "../../../src/adapters/tables/TableUsageCounterStore.js";
import { describeUsageCounterStoreContract } from "../../contracts/usageCounterStore.contract.js";

let azurite: RunningAzurite;
let tables = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

const client = (table: string): TableClient => TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true });

// Each call gets a fresh table; each instance its own TableClient (its own connection pool), as
// separate app instances would.
describeUsageCounterStoreContract("TableUsageCounterStore on Azurite", async (instanceCount) => {
  const table = `UsageCounters${++tables}`;
  const instances = Array.from({ length: instanceCount }, () => new TableUsageCounterStore(client(table)));
  await instances[0]?.createTable();
  return { instances, dispose: async () => client(table).deleteTable() };
});

describe("TableUsageCounterStore specifics", () => {
  it("coalesces one instance's concurrent calls into few transactions, and counts conflicts", async () => {
    const table = `UsageCountersBatch${++tables}`;
    const store = new TableUsageCounterStore(client(table));
    await store.createTable();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.apply("p", [{ key: "L|m|1|req|p", add: { requests: 1 }, limit: { fields: ["requests"], max: 1000 } }])),
    );
    expect(results.every((result) => result.applied)).toBe(true);
    expect(store.commits).toBeLessThan(50);
    expect(store.conflicts).toBe(0);
  });

  it("keeps settlements from different instances off each other's rows: no conflicts, exact sums", async () => {
    const table = `UsageCountersShards${++tables}`;
    // Deterministic, distinct shards 0, 4, 8 and 12 (of 16).
    const stores = [0, 1, 2, 3].map((index) => new TableUsageCounterStore(client(table), { random: () => index / 4 }));
    await stores[0]!.createTable();
    await stores[0]!.apply("p", [{ key: "L|tok", add: { reserved: 4000 }, limit: { fields: ["reserved", "settled"], max: 10_000 } }]);
    await Promise.all(
      Array.from({ length: 80 }, (_, index) => stores[index % 4]!.apply("p", [{ key: "L|tok", add: { reserved: -50, settled: 20 } }, { key: "R|d|2026-01-01|p", add: { usd: 7 } }])),
    );
    expect(stores.reduce((sum, store) => sum + store.conflicts, 0)).toBe(0);
    const rows = [];
    for await (const row of stores[1]!.list("p", "")) rows.push(row);
    expect(rows).toEqual([
      { key: "L|tok", values: { reserved: 0, settled: 1600 } },
      { key: "R|d|2026-01-01|p", values: { usd: 560 } },
    ]);
    // A reservation sees the settlements of every instance: 1600 settled + 8400 = 10 000 fits, 1 more does not.
    const limit = { fields: ["reserved", "settled"], max: 10_000 };
    expect((await stores[2]!.apply("p", [{ key: "L|tok", add: { reserved: 8401 }, limit }])).applied).toBe(false);
    expect((await stores[2]!.apply("p", [{ key: "L|tok", add: { reserved: 8400 }, limit }])).applied).toBe(true);
  });

  it("prunes finished minute windows and keeps the rest", async () => {
    const table = `UsageCountersPrune${++tables}`;
    const store = new TableUsageCounterStore(client(table));
    await store.createTable();
    const limit = { fields: ["requests"], max: 10 };
    for (const minute of [29_000_000, 29_000_001, 29_000_002]) {
      await store.apply("p", [{ key: `L|m|${minute}|req|p`, add: { requests: 1 }, limit }]);
      await store.apply("p", [{ key: `L|m|${minute}|req|p`, add: { requests: -1 } }]); // a shard row too
    }
    await store.apply("p", [{ key: "R|d|2026-01-01|p", add: { usd: 1 } }]);
    expect(await store.pruneMinuteWindows("p", 29_000_002)).toBe(4);
    const keys = [];
    for await (const row of store.list("p", "")) keys.push(row.key);
    expect(keys).toEqual(["L|m|29000002|req|p", "R|d|2026-01-01|p"]);
    expect(await store.pruneMinuteWindows("p", 29_000_002)).toBe(0);
  });

  it("writes each lane's mark with its transactions (one row per store instance and lane), and lists counters only", async () => {
    const table = `UsageCountersMarks${++tables}`;
    const store = new TableUsageCounterStore(client(table));
    await store.createTable();
    const limit = { fields: ["requests"], max: 100 };
    for (let index = 0; index < 3; index++) {
      await store.apply("p", [{ key: "L|m|5|req|p", add: { requests: 1 }, limit }]);
      await store.apply("p", [{ key: "R|d|2026-01-01|p", add: { usd: 2 } }]);
    }
    const rowKeys: string[] = [];
    for await (const entity of client(table).listEntities({ queryOptions: { filter: "PartitionKey eq 'p'" } })) rowKeys.push(entity.rowKey ?? "");
    const marks = rowKeys.filter((key) => key.startsWith("W|"));
    expect(marks).toHaveLength(2);
    expect(marks.map((key) => key.slice(-2)).sort()).toEqual([".l", ".u"]);
    const listed = [];
    for await (const row of store.list("p", "")) listed.push(row);
    expect(listed).toEqual([
      { key: "L|m|5|req|p", values: { requests: 3 } },
      { key: "R|d|2026-01-01|p", values: { usd: 6 } },
    ]);
    expect(store.landedUnanswered).toBe(0);
  });

  it("prunes the marks of writers that stopped writing; a live writer's mark and its own stay, and a pruned writer's next write marks again", async () => {
    const table = `UsageCountersMarkPrune${++tables}`;
    const markAge = 1_000;
    const [stopped, live, pruner] = [0, 1, 2].map(() => new TableUsageCounterStore(client(table), { housekeeping: { firstAfterInMs: 3_600_000, markMaxAgeInMs: markAge } }));
    await stopped!.createTable();
    const limit = { fields: ["requests"], max: 100 };
    const window = `L|m|${Math.floor(Date.now() / 60_000)}|req|p`;
    const write = async (store: TableUsageCounterStore): Promise<void> => {
      expect((await store.apply("p", [{ key: window, add: { requests: 1 }, limit }])).applied).toBe(true);
      expect((await store.apply("p", [{ key: "R|d|2026-01-01|p", add: { usd: 2 } }])).applied).toBe(true);
    };
    const marks = async (): Promise<string[]> => {
      const found: string[] = [];
      for await (const entity of client(table).listEntities({ queryOptions: { filter: "PartitionKey eq 'p' and RowKey ge 'W|' and RowKey lt 'W}'" } })) found.push(entity.rowKey ?? "");
      return found.sort();
    };
    await write(stopped!);
    const stoppedMarks = await marks();
    expect(stoppedMarks).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, markAge + 500));
    await write(live!);
    await write(pruner!);
    const liveAndOwn = (await marks()).filter((mark) => !stoppedMarks.includes(mark));
    expect(liveAndOwn).toHaveLength(4);

    expect(await pruner!.pruneStale("p", Date.now())).toEqual({ minuteRows: 0, marks: 2 });
    expect(await marks()).toEqual(liveAndOwn);
    // The counters are untouched, and a writer whose marks went writes (and marks) as before.
    await write(stopped!);
    expect((await marks()).length).toBe(6);
    const listed = [];
    for await (const row of pruner!.list("p", "")) listed.push(row);
    expect(listed).toEqual([
      { key: window, values: { requests: 4 } },
      { key: "R|d|2026-01-01|p", values: { usd: 8 } },
    ]);
  });

  it("with housekeeping on, prunes a partition by itself after its first write: old minute windows and stale marks go, the current window stays", async () => {
    const table = `UsageCountersHousekeeping${++tables}`;
    const limit = { fields: ["requests"], max: 10 };
    const old = new TableUsageCounterStore(client(table));
    await old.createTable();
    // A window of 2025 (long finished), written by a writer that is gone.
    await old.apply("p", [{ key: "L|m|29000000|req|p", add: { requests: 1 }, limit }]);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const currentMinute = Math.floor(Date.now() / 60_000);
    const pruned = new Promise<{ readonly minuteRows: number; readonly marks: number }>((resolve) => {
      const store = new TableUsageCounterStore(client(table), { housekeeping: { firstAfterInMs: 50, markMaxAgeInMs: 1_000, onPruned: (_partition, counts) => resolve(counts) } });
      void store.apply("p", [{ key: `L|m|${currentMinute}|req|p`, add: { requests: 1 }, limit }]);
    });
    const never = new Promise<string>((resolve) => setTimeout(() => resolve("no prune within 10 s"), 10_000).unref());
    expect(await Promise.race([pruned, never])).toEqual({ minuteRows: 1, marks: 1 });
    const keys = [];
    for await (const row of old.list("p", "")) keys.push(row.key);
    expect(keys).toEqual([`L|m|${currentMinute}|req|p`]);
  });

  it("rejects counter keys it could not store", async () => {
    const store = new TableUsageCounterStore(client("Unused"));
    await expect(store.apply("p", [{ key: "L|a!1", add: { n: 1 } }])).rejects.toThrow(RangeError);
  });

  it("fails with an error (never a silent pass) when the table cannot be reached", async () => {
    const unreachable = new TableUsageCounterStore(
      TableClient.fromConnectionString(azurite.connectionString.replace(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/, "TableEndpoint=http://127.0.0.1:1"), "Nowhere", {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      }),
    );
    await expect(unreachable.apply("p", [{ key: "L|a", add: { n: 1 } }])).rejects.toBeDefined();
  });
});
