import { TableClient } from "@azure/data-tables";
import { startAzurite } from "../../../local/azurite.js";
import { ROTATION_STATE_TABLE, TableRotationStateStore } from "../../../src/adapters/tables/TableRotationStateStore.js";
import { describeRotationStateStoreContract } from "../../contracts/rotationStateStore.contract.js";

describeRotationStateStoreContract("TableRotationStateStore on Azurite", async () => {
  const azurite = await startAzurite();
  const table = TableClient.fromConnectionString(azurite.connectionString, ROTATION_STATE_TABLE, { allowInsecureConnection: true });
  return { store: new TableRotationStateStore(table), serverNowInMs: () => Date.now(), stop: () => azurite.stop() };
});
