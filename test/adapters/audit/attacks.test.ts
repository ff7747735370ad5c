import { afterAll, beforeAll, describe } from "vitest";
import { BlobServiceClient } from "@azure/storage-blob";
import { randomUUID } from "node:crypto";
import { type RunningAzurite } from "../../../local/azurite.js";
import { BlobCheckpointAnchor } from "../../../src/adapters/blob/BlobCheckpointAnchor.js";
import { fromEntryEntity, toEntryEntity, toHeadEntity } from "../../../src/adapters/tables/audit/auditEntities.js";
import { describeAuditAttacks } from "./auditAttacks.js";
import { newLedger, startAzurite } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describe("attacks on the chain in Table Storage (Azurite) with checkpoints in Blob Storage", () => {
  describeAuditAttacks(async () => {
    const { ledger, table } = newLedger(azurite);
    const anchor = new BlobCheckpointAnchor(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`cp-${randomUUID()}`));
    return {
      ledger,
      anchor,
      tamper: {
        getRow: async (chainId, rowKey) => fromEntryEntity(await table.getEntity<Record<string, unknown>>(chainId, rowKey)),
        putRow: async (entry) => {
          await table.upsertEntity(toEntryEntity(entry), "Replace");
        },
        deleteRow: async (chainId, rowKey) => {
          await table.deleteEntity(chainId, rowKey);
        },
        setHead: async (head) => {
          await table.upsertEntity(toHeadEntity(head), "Replace");
        },
      },
    };
  });
});
