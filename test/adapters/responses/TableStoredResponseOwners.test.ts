import { TableClient } from "@azure/data-tables";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { STORED_RESPONSE_OWNERS_TABLE, TableStoredResponseOwners } from "../../../src/adapters/tables/TableStoredResponseOwners.js";
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
});
