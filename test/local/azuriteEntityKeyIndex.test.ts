import { AzureNamedKeyCredential, TableClient, type TransactionAction } from "@azure/data-tables";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../local/azurite.js";

// Azurite's well-known development account (public, documented by Microsoft).
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

let azurite: RunningAzurite;
let table: TableClient;
beforeAll(async () => {
  azurite = await startAzurite();
  table = new TableClient(azurite.tableEndpoint, "keyindex", new AzureNamedKeyCredential(ACCOUNT, KEY), { allowInsecureConnection: true });
  await table.createTable();
});
afterAll(async () => {
  await azurite?.stop();
});

const statusOf = async (operation: Promise<unknown>): Promise<number> => {
  try {
    await operation;
    return 200;
  } catch (error) {
    return (error as { statusCode?: number }).statusCode ?? 0;
  }
};

describe("Azurite with (PartitionKey, RowKey) look-ups by map (local/azuriteEntityKeyIndex.ts)", () => {
  it("still refuses a second insert of a row, and allows it again once the row is deleted", async () => {
    await table.createEntity({ partitionKey: "p", rowKey: "a", value: 1 });
    expect(await statusOf(table.createEntity({ partitionKey: "p", rowKey: "a", value: 2 }))).toBe(409);
    await table.deleteEntity("p", "a");
    expect(await statusOf(table.getEntity("p", "a"))).toBe(404);
    await table.createEntity({ partitionKey: "p", rowKey: "a", value: 3 });
    expect((await table.getEntity<{ value: number }>("p", "a")).value).toBe(3);
  });

  it("reads what an update or an upsert stored, and keeps rows of other partitions apart", async () => {
    await table.createEntity({ partitionKey: "p", rowKey: "b", value: 1 });
    await table.createEntity({ partitionKey: "q", rowKey: "b", value: 10 });
    await table.updateEntity({ partitionKey: "p", rowKey: "b", value: 2 }, "Replace");
    await table.upsertEntity({ partitionKey: "p", rowKey: "c", value: 5 }, "Merge");
    await table.upsertEntity({ partitionKey: "p", rowKey: "c", other: 6 }, "Merge");
    expect((await table.getEntity<{ value: number }>("p", "b")).value).toBe(2);
    expect((await table.getEntity<{ value: number }>("q", "b")).value).toBe(10);
    expect(await table.getEntity<{ value: number; other: number }>("p", "c")).toMatchObject({ value: 5, other: 6 });
  });

  it("rolls back a failed transaction: none of its rows stays, and they can be inserted afterwards", async () => {
    await table.createEntity({ partitionKey: "t", rowKey: "taken" });
    const actions: TransactionAction[] = [
      ["create", { partitionKey: "t", rowKey: "new-1" }],
      ["create", { partitionKey: "t", rowKey: "new-2" }],
      ["create", { partitionKey: "t", rowKey: "taken" }],
    ];
    expect(await statusOf(table.submitTransaction(actions))).toBe(409);
    expect(await statusOf(table.getEntity("t", "new-1"))).toBe(404);
    await table.submitTransaction([
      ["create", { partitionKey: "t", rowKey: "new-1" }],
      ["create", { partitionKey: "t", rowKey: "new-2" }],
    ]);
    const rows = [];
    for await (const row of table.listEntities({ queryOptions: { filter: "PartitionKey eq 't'" } })) rows.push(row.rowKey);
    expect(rows.sort()).toEqual(["new-1", "new-2", "taken"]);
  });

  it("looks a row up by its keys without a LokiJS query (which scanned the whole partition on every insert)", async () => {
    // LokiJS as Azurite resolves it: count the queries it runs while a row is inserted and read.
    const lokiRequire = createRequire(createRequire(import.meta.url).resolve("azurite/package.json"));
    const resultset = (lokiRequire("lokijs") as { Resultset: { prototype: { find: (...args: unknown[]) => unknown } } }).Resultset.prototype;
    const find = resultset.find;
    let queries = 0;
    resultset.find = function counted(this: unknown, ...args: unknown[]) {
      queries += 1;
      return find.apply(this, args);
    };
    try {
      await table.createEntity({ partitionKey: "scan", rowKey: "one" });
      await table.getEntity("scan", "one");
      expect(await statusOf(table.createEntity({ partitionKey: "scan", rowKey: "one" }))).toBe(409);
    } finally {
      resultset.find = find;
    }
    expect(queries).toBe(0);
  });

  it("answers a look-up in a partition of thousands of rows with the row asked for", async () => {
    for (let chunk = 0; chunk < 20; chunk++) {
      await table.submitTransaction(Array.from({ length: 100 }, (_, i): TransactionAction => ["create", { partitionKey: "big", rowKey: String(chunk * 100 + i).padStart(6, "0"), n: chunk * 100 + i }]));
    }
    expect((await table.getEntity<{ n: number }>("big", "001234")).n).toBe(1234);
    expect(await statusOf(table.createEntity({ partitionKey: "big", rowKey: "001999" }))).toBe(409);
    expect(await statusOf(table.getEntity("big", "002000"))).toBe(404);
  });
});
