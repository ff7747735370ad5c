import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { RESPONSE_CACHE_TABLE, TableResponseCache } from "../../../src/adapters/tables/TableResponseCache.js";
import { ManualClock } from "../../../src/core/clock.js";
import { describeResponseCacheContract } from "../../contracts/responseCache.contract.js";

let azurite: RunningAzurite;
let table: TableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  table = TableClient.fromConnectionString(azurite.connectionString, RESPONSE_CACHE_TABLE, { allowInsecureConnection: true });
  await new TableResponseCache(table, new ManualClock()).createTableIfMissing();
});
afterAll(async () => {
  await azurite?.stop();
});

describeResponseCacheContract("TableResponseCache on Azurite", async () => {
  const clock = new ManualClock();
  return { cache: new TableResponseCache(table, clock), clock };
});

describe("TableResponseCache specifics", () => {
  it("creating the table twice is fine", async () => {
    await expect(new TableResponseCache(table, new ManualClock()).createTableIfMissing()).resolves.toBeUndefined();
  });

  it("deletes an expired row when it is read", async () => {
    const clock = new ManualClock();
    const cache = new TableResponseCache(table, clock);
    const key = "e".repeat(64);
    await cache.set(key, { body: "{}", contentType: "application/json", endpointId: "a", region: "r", endpointClass: "cached", createdAtInMs: 0 }, 1_000);
    await expect(table.getEntity(key, "response")).resolves.toBeDefined();
    clock.advance(1_000);
    await expect(cache.get(key)).resolves.toBeNull();
    await expect(table.getEntity(key, "response")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("treats a malformed row as a miss", async () => {
    const key = "f".repeat(64);
    await table.upsertEntity({ partitionKey: key, rowKey: "response", body: "not binary", expiresAtInMs: Number.MAX_SAFE_INTEGER }, "Replace");
    await expect(new TableResponseCache(table, new ManualClock()).get(key)).resolves.toBeNull();
  });
});
