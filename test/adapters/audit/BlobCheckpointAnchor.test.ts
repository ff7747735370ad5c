import { BlobServiceClient } from "@azure/storage-blob";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { startAzurite, type RunningAzurite } from "../../../local/azurite.js";
import { BlobCheckpointAnchor } from "../../../src/adapters/blob/BlobCheckpointAnchor.js";
import { describeCheckpointAnchorContract } from "../../contracts/checkpointAnchor.contract.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describeCheckpointAnchorContract("BlobCheckpointAnchor on Azurite", async () => {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  return { anchor: new BlobCheckpointAnchor(service.getContainerClient(`cp-${randomUUID()}`)) };
});
