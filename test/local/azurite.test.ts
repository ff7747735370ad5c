import { TableClient, TableTransaction } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../local/azurite.js";

describe("local Azurite (Table and Blob in-process)", () => {
  let azurite: RunningAzurite;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite.stop();
  });

  it("serves tables on a free port with the ETag and transaction behaviour Palisade relies on", async () => {
    const table = TableClient.fromConnectionString(azurite.connectionString, "Probe", { allowInsecureConnection: true });
    await table.createTable();
    await table.createEntity({ partitionKey: "p", rowKey: "head", size: 0 });
    const head = await table.getEntity("p", "head");
    await table.updateEntity({ partitionKey: "p", rowKey: "head", size: 1 }, "Replace", { etag: head.etag });

    const stale = new TableTransaction();
    stale.createEntity({ partitionKey: "p", rowKey: "0000000001" });
    stale.updateEntity({ partitionKey: "p", rowKey: "head", size: 2 }, "Replace", { etag: head.etag });
    await expect(table.submitTransaction(stale.actions)).rejects.toMatchObject({ statusCode: 412 });
    await expect(table.getEntity("p", "0000000001")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("serves blobs", async () => {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient("probe");
    await container.create();
    await container.getBlockBlobClient("a.txt").upload("hello", 5);
    const downloaded = await container.getBlobClient("a.txt").downloadToBuffer();
    expect(downloaded.toString()).toBe("hello");
  });
});
