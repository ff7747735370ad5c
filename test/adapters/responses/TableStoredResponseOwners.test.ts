import { TableClient } from "@azure/data-tables";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { STORED_RESPONSE_OWNERS_TABLE, TableStoredResponseOwners } from "../../../src/adapters/tables/TableStoredResponseOwners.js";
import { SWEEP_STATE_KEYS } from "../../../src/adapters/tables/storedResponseOwners/sweepLegacyOwnerRows.js";
import { ManualClock } from "../../../src/core/clock.js";
import { describeStoredResponseOwnersContract } from "../../contracts/storedResponseOwners.contract.js";

const DAY_IN_MS = 86_400_000;
const RETENTION_IN_MS = 30 * DAY_IN_MS;

let azurite: RunningAzurite;
let table: TableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  table = TableClient.fromConnectionString(azurite.connectionString, STORED_RESPONSE_OWNERS_TABLE, { allowInsecureConnection: true });
});
afterAll(async () => {
  await azurite?.stop();
});

/** A table of its own per test, so purges count only that test's rows. */
const freshTable = (): TableClient => TableClient.fromConnectionString(azurite.connectionString, `Owners${randomBytes(6).toString("hex")}`, { allowInsecureConnection: true });

describeStoredResponseOwnersContract("TableStoredResponseOwners on Azurite", (options) => Promise.resolve(new TableStoredResponseOwners(freshTable(), options)));

describe("TableStoredResponseOwners specifics", () => {
  it("keeps a small row: the project, model and endpoint names and the expiry under a hash of the Response id, never the id itself", async () => {
    const clock = new ManualClock(Date.now());
    await new TableStoredResponseOwners(table, { clock, retentionInMs: RETENTION_IN_MS }).record("resp_row_shape", { projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
    const rows = [];
    for await (const row of table.listEntities()) rows.push(row);
    const row = rows.find((candidate) => candidate.rowKey === createHash("sha256").update("resp_row_shape", "utf8").digest("hex"));
    expect(row).toMatchObject({ model: "gpt-4o-mini", endpointId: "eu-chat" });
    expect(JSON.stringify(rows)).not.toContain("resp_row_shape");
    expect(row?.rowKey).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.partitionKey).toBe(String(row?.rowKey).slice(0, 2));
    expect(row?.expiresAt).toEqual(new Date(clock.nowInMs() + RETENTION_IN_MS));
  });

  it("a row written before rows had expiresAt counts until the retention after its Timestamp, then is purged", async () => {
    const legacy = freshTable();
    await legacy.createTable();
    const rowKey = createHash("sha256").update("resp_legacy", "utf8").digest("hex");
    await legacy.createEntity({ partitionKey: rowKey.slice(0, 2), rowKey, projectId: "acme" });
    const clock = new ManualClock(Date.now() + RETENTION_IN_MS - 60_000);
    const owners = new TableStoredResponseOwners(legacy, { clock, retentionInMs: RETENTION_IN_MS });
    await expect(owners.ownerOf("resp_legacy")).resolves.toEqual({ projectId: "acme" });
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(0);
    clock.advance(2 * 60_000);
    await expect(owners.ownerOf("resp_legacy")).resolves.toBeNull();
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(1);
    await expect(legacy.getEntity(rowKey.slice(0, 2), rowKey)).rejects.toMatchObject({ statusCode: 404 });
  });
  it("forgets a record with its expiry row: nothing of it is left", async () => {
    const own = freshTable();
    const owners = new TableStoredResponseOwners(own, { clock: new ManualClock(Date.now()), retentionInMs: RETENTION_IN_MS });
    await owners.record("resp_forgotten", { projectId: "acme" });
    await expect(rowKeysOf(own)).resolves.toHaveLength(2);
    await owners.forget("resp_forgotten");
    await expect(rowKeysOf(own)).resolves.toEqual([]);
  });

  it("reads, expires and purges rows of earlier builds (session 13's without an expiry row, session 12's also without expiresAt, model, endpoint)", async () => {
    const legacy = freshTable();
    await legacy.createTable();
    const writtenAtInMs = Date.now();
    const session13 = keysOf("resp_session13");
    const session12 = keysOf("resp_session12");
    await legacy.createEntity({ ...session13, projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat", expiresAt: new Date(writtenAtInMs + RETENTION_IN_MS) });
    await legacy.createEntity({ ...session12, projectId: "acme" });
    const clock = new ManualClock(writtenAtInMs + DAY_IN_MS);
    const owners = new TableStoredResponseOwners(legacy, { clock, retentionInMs: RETENTION_IN_MS });
    await expect(owners.ownerOf("resp_session13")).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
    await expect(owners.ownerOf("resp_session12")).resolves.toEqual({ projectId: "acme" });

    // The first run gives both their expiry rows (nothing expired yet); the next pass finds no row without one: the sweep is over.
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(0);
    expect((await rowKeysOf(legacy)).filter((rowKey) => rowKey.startsWith("x:"))).toHaveLength(2);
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(0);
    await expect(legacy.getEntity(SWEEP_STATE_KEYS.partitionKey, SWEEP_STATE_KEYS.rowKey)).resolves.toMatchObject({ done: true });
    await expect(owners.ownerOf("resp_session12")).resolves.toEqual({ projectId: "acme" });

    clock.set(writtenAtInMs + RETENTION_IN_MS + 5 * 60_000);
    await expect(owners.ownerOf("resp_session13")).resolves.toBeNull();
    await expect(owners.ownerOf("resp_session12")).resolves.toBeNull();
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(2);
    await expect(rowKeysOf(legacy)).resolves.toEqual([SWEEP_STATE_KEYS.rowKey]);
  });

  it("goes on sweeping while passes find rows of an earlier build (one written behind the scan during a deployment), and deletes expired ones directly", async () => {
    const legacy = freshTable();
    await legacy.createTable();
    const clock = new ManualClock(Date.now());
    const owners = new TableStoredResponseOwners(legacy, { clock, retentionInMs: RETENTION_IN_MS });
    await legacy.createEntity({ ...keysOf("resp_before"), projectId: "acme", expiresAt: new Date(clock.nowInMs() + RETENTION_IN_MS) });
    await owners.purgeExpired({ maxRows: 10 });
    await legacy.createEntity({ ...keysOf("resp_behind"), projectId: "acme", expiresAt: new Date(clock.nowInMs() - 60_000) });
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(1);
    await expect(legacy.getEntity(SWEEP_STATE_KEYS.partitionKey, SWEEP_STATE_KEYS.rowKey)).resolves.toMatchObject({ done: false });
    await expect(owners.purgeExpired({ maxRows: 10 })).resolves.toBe(0);
    await expect(legacy.getEntity(SWEEP_STATE_KEYS.partitionKey, SWEEP_STATE_KEYS.rowKey)).resolves.toMatchObject({ done: true });
    await expect(owners.ownerOf("resp_before")).resolves.toEqual({ projectId: "acme" });
  });

  it("a sweep run reads at most maxRows rows and goes on where it stopped", async () => {
    const legacy = freshTable();
    await legacy.createTable();
    const clock = new ManualClock(Date.now());
    for (let index = 0; index < 5; index += 1) await legacy.createEntity({ ...keysOf(`resp_old_${index}`), projectId: "acme" });
    const owners = new TableStoredResponseOwners(legacy, { clock, retentionInMs: RETENTION_IN_MS });
    const expiryRows = async (): Promise<number> => (await rowKeysOf(legacy)).filter((rowKey) => rowKey.startsWith("x:")).length;
    await owners.purgeExpired({ maxRows: 2 });
    await expect(expiryRows()).resolves.toBe(2);
    await owners.purgeExpired({ maxRows: 2 });
    await expect(expiryRows()).resolves.toBe(4);
    await owners.purgeExpired({ maxRows: 2 });
    await expect(expiryRows()).resolves.toBe(5);
  });

  it("a purge run is bounded by maxRows also when the expired rows share partitions (and pairs go 50 to a transaction)", async () => {
    const clock = new ManualClock(Date.now());
    const owners = new TableStoredResponseOwners(freshTable(), { clock, retentionInMs: RETENTION_IN_MS });
    // 120 ids over only two partitions.
    const ids: string[] = [];
    for (let index = 0; ids.length < 120; index += 1) if (["00", "01"].includes(keysOf(`resp_shared_${index}`).partitionKey)) ids.push(`resp_shared_${index}`);
    await inParallel(ids.map((id) => () => owners.record(id, { projectId: "acme" })));
    clock.advance(RETENTION_IN_MS + 60_000);
    const runs: number[] = [];
    for (let run = 0; run < 4; run += 1) runs.push(await owners.purgeExpired({ maxRows: 55 }));
    expect(runs).toEqual([55, 55, 10, 0]);
  });

  it("a purge's Table requests follow what expired, not how many rows live", async () => {
    const expiring = Array.from({ length: 120 }, (_, index) => `resp_expiring_${index}`);
    const requestsOfPurge = async (liveRows: number): Promise<number> => {
      const counted = countingTable();
      const clock = new ManualClock(Date.now());
      const owners = new TableStoredResponseOwners(counted.table, { clock, retentionInMs: RETENTION_IN_MS });
      // Expiring over three days, then the live rows.
      for (const [index, id] of expiring.entries()) {
        if (index % 40 === 0 && index > 0) clock.advance(DAY_IN_MS);
        await owners.record(id, { projectId: "acme" });
      }
      // The sweep's one pass over a table with no earlier rows: then it is over.
      await expect(owners.purgeExpired({ maxRows: 10_000 })).resolves.toBe(0);
      clock.advance(DAY_IN_MS);
      await inParallel(Array.from({ length: liveRows }, (_, index) => () => owners.record(`resp_live_${index}`, { projectId: "acme" })));
      clock.advance(RETENTION_IN_MS - DAY_IN_MS + 60_000);
      const before = counted.requests();
      await expect(owners.purgeExpired({ maxRows: 10_000 })).resolves.toBe(expiring.length);
      return counted.requests() - before;
    };
    const withoutLive = await requestsOfPurge(0);
    const withLive = await requestsOfPurge(2_000);
    console.log(`purge of ${expiring.length} expired rows: ${withoutLive} Table requests beside 0 live rows, ${withLive} beside 2,000 live rows`);
    expect(withLive).toBe(withoutLive);
  });
});

/** Every RowKey of the table. */
async function rowKeysOf(client: TableClient): Promise<string[]> {
  const rowKeys: string[] = [];
  for await (const row of client.listEntities()) rowKeys.push(row.rowKey ?? "");
  return rowKeys;
}

function keysOf(responseId: string): { partitionKey: string; rowKey: string } {
  const rowKey = createHash("sha256").update(responseId, "utf8").digest("hex");
  return { partitionKey: rowKey.slice(0, 2), rowKey };
}

/** A fresh table whose client counts the HTTP requests it sends. */
function countingTable(): { table: TableClient; requests: () => number } {
  let requests = 0;
  const table = TableClient.fromConnectionString(azurite.connectionString, `Owners${randomBytes(6).toString("hex")}`, {
    allowInsecureConnection: true,
    additionalPolicies: [{ position: "perCall", policy: { name: "countRequests", sendRequest: (request, next) => ((requests += 1), next(request)) } }],
  });
  return { table, requests: () => requests };
}

async function inParallel(tasks: readonly (() => Promise<void>)[], width = 16): Promise<void> {
  for (let at = 0; at < tasks.length; at += width) await Promise.all(tasks.slice(at, at + width).map((task) => task()));
}
