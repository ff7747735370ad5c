import { afterAll, beforeAll } from "vitest";
import { type RunningAzurite } from "../../../local/azurite.js";
import { describeAuditLedgerContract } from "../../contracts/auditLedger.contract.js";
import { TableAuditLedger } from "../../../src/adapters/tables/TableAuditLedger.js";
import { newLedger, startAzurite, tableClient } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describeAuditLedgerContract("TableAuditLedger on Azurite (dedupe by point reads)", async () => ({ ledger: newLedger(azurite).ledger }));
describeAuditLedgerContract("TableAuditLedger on Azurite (dedupe by or-queries)", async () => ({ ledger: new TableAuditLedger(tableClient(azurite), { dedupeLookup: "orQuery" }) }));
