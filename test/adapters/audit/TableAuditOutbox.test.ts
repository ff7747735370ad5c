import { afterAll, beforeAll } from "vitest";
import { type RunningAzurite } from "../../../local/azurite.js";
import { TableAuditOutbox } from "../../../src/adapters/tables/TableAuditOutbox.js";
import { describeAuditOutboxContract } from "../../contracts/auditOutbox.contract.js";
import { startAzurite, tableClient } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describeAuditOutboxContract("TableAuditOutbox on Azurite", async () => ({ outbox: new TableAuditOutbox(tableClient(azurite)) }));
