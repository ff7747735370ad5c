import { describe } from "vitest";
import { describeAuditAttacks } from "../../adapters/audit/auditAttacks.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";

describe("attacks on the in-memory chain (the same suite as on Azurite)", () => {
  describeAuditAttacks(async () => {
    const ledger = new InMemoryAuditLedger();
    const chain = (id: string) => {
      const c = ledger.chains.get(id);
      if (c === undefined) throw new Error(`no chain ${id}`);
      return c;
    };
    return {
      ledger,
      anchor: new InMemoryCheckpointAnchor(),
      tamper: {
        getRow: async (chainId, rowKey) => ({ ...chain(chainId).rows.get(rowKey)! }),
        putRow: async (entry) => {
          chain(entry.chainId).rows.set(entry.rowKey, { ...entry });
        },
        deleteRow: async (chainId, rowKey) => {
          chain(chainId).rows.delete(rowKey);
        },
        setHead: async (head) => {
          chain(head.chainId).head = { ...head, etag: "tampered" };
        },
      },
    };
  });
});
