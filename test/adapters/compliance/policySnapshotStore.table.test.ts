import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { startAzurite } from "../../../local/azurite.js";
import { TablePolicySnapshotStore } from "../../../src/adapters/tables/TablePolicySnapshotStore.js";
import { describePolicySnapshotStoreContract } from "../../contracts/policySnapshotStore.contract.js";

describePolicySnapshotStoreContract("TablePolicySnapshotStore on Azurite", async () => {
  const azurite = await startAzurite();
  return {
    // One Azurite; a table per test, because the store holds a single row.
    newStore: async () =>
      new TablePolicySnapshotStore(TableClient.fromConnectionString(azurite.connectionString, `policy${randomUUID().replaceAll("-", "").slice(0, 16)}`, { allowInsecureConnection: true })),
    stop: () => azurite.stop(),
  };
});
