import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEntry, GENESIS_HASH } from "../../../src/core/audit/ChainEntry.js";
import { makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";
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

describe("TableAuditLedger.commit", () => {
  it("returns the head's new ETag from the transaction itself (insert and replace), without reading the head again", async () => {
    const table = tableClient(azurite);
    const ledger = new TableAuditLedger(table);
    let reads = 0;
    const getEntity = table.getEntity.bind(table);
    table.getEntity = ((...args: Parameters<typeof table.getEntity>) => {
      reads += 1;
      return getEntity(...args);
    });
    let prevHash = GENESIS_HASH;
    let etag: string | null = null;
    for (let round = 0; round < 3; round += 1) {
      const entries = makeAuditEvents(2, { project: "c" }).map((event, i) => {
        const entry = createEntry({ chainId: "c", sequence: round * 2 + i, ts: "2026-01-01T00:00:00.000Z", prevHash, event });
        prevHash = entry.hash;
        return entry;
      });
      const result = await ledger.commit({ chainId: "c", expectedEtag: etag, entries, head: { chainId: "c", size: round * 2 + 2, lastHash: prevHash, updatedAt: "x" } });
      if (!result.committed) throw new Error("conflict");
      etag = result.etag;
    }
    expect(reads).toBe(0);
    expect((await ledger.getHead("c"))?.etag).toBe(etag);
  });
});
