import { createHash } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { STORED_RESPONSE_OWNERS_TABLE, TableStoredResponseOwners } from "../../../src/adapters/tables/TableStoredResponseOwners.js";
import { describeStoredResponseOwnersContract } from "../../contracts/storedResponseOwners.contract.js";

let azurite: RunningAzurite;
let table: TableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  table = TableClient.fromConnectionString(azurite.connectionString, STORED_RESPONSE_OWNERS_TABLE, { allowInsecureConnection: true });
});
afterAll(async () => {
  await azurite?.stop();
});

describeStoredResponseOwnersContract("TableStoredResponseOwners on Azurite", () => Promise.resolve(new TableStoredResponseOwners(table)));

describe("TableStoredResponseOwners specifics", () => {
  it("keeps a small row: the project, model and endpoint names under a hash of the Response id, never the id itself", async () => {
    await new TableStoredResponseOwners(table).record("resp_row_shape", { projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
    const rows = [];
    for await (const row of table.listEntities()) rows.push(row);
    const row = rows.find((candidate) => candidate.rowKey === createHash("sha256").update("resp_row_shape", "utf8").digest("hex"));
    expect(row).toMatchObject({ model: "gpt-4o-mini", endpointId: "eu-chat" });
    expect(JSON.stringify(rows)).not.toContain("resp_row_shape");
    expect(row?.rowKey).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.partitionKey).toBe(String(row?.rowKey).slice(0, 2));
  });
});
