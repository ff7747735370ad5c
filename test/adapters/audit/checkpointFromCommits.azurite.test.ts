import { afterAll, beforeAll } from "vitest";
import { type RunningAzurite } from "../../../local/azurite.js";
import { describeCheckpointFromCommits } from "../../contracts/checkpointFromCommits.contract.js";
import { newLedger, startAzurite } from "./azuriteStack.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

// Every scenario runs on a chain of its own in one table: the round trips, not the logic, set the count.
describeCheckpointFromCommits("TableAuditLedger on Azurite", async () => newLedger(azurite).ledger, { numRuns: 30 });
