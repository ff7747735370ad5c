import { TableClient } from "@azure/data-tables";
import { startAzurite } from "../../../local/azurite.js";
import { SUBJECT_KEYS_TABLE, TableSubjectKeyStore } from "../../../src/adapters/tables/TableSubjectKeyStore.js";
import { describeSubjectKeyStoreContract } from "../../contracts/subjectKeyStore.contract.js";

describeSubjectKeyStoreContract("TableSubjectKeyStore on Azurite", async () => {
  const azurite = await startAzurite();
  const table = TableClient.fromConnectionString(azurite.connectionString, SUBJECT_KEYS_TABLE, { allowInsecureConnection: true });
  return { store: new TableSubjectKeyStore(table), stop: () => azurite.stop() };
});
