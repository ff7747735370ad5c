import { describeCheckpointFromCommits } from "../../contracts/checkpointFromCommits.contract.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";

describeCheckpointFromCommits("in-memory ledger", async () => new InMemoryAuditLedger(), { numRuns: 150 });
