import { TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import { startAzurite, type RunningAzurite } from "../../../local/azurite.js";
import { TableAuditLedger } from "../../../src/adapters/tables/TableAuditLedger.js";

/** One Azurite per test file; each test gets its own table. */
export function tableClient(azurite: RunningAzurite, name = `audit${randomUUID().replaceAll("-", "").slice(0, 20)}`): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
}

export function newLedger(azurite: RunningAzurite): { ledger: TableAuditLedger; table: TableClient } {
  const table = tableClient(azurite);
  return { ledger: new TableAuditLedger(table), table };
}

export { startAzurite };
