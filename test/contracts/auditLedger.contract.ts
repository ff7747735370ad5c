import { describe, expect, it } from "vitest";
import { type AuditLedger } from "../../src/core/audit/AuditLedger.js";
import { createEntry, GENESIS_HASH, type StoredEntry } from "../../src/core/audit/ChainEntry.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function entriesFor(chainId: string, from: number, count: number, prevHash: string, eventIds?: string[]): StoredEntry[] {
  const out: StoredEntry[] = [];
  let prev = prevHash;
  for (let i = 0; i < count; i += 1) {
    const event = makeAuditEvent({ project: chainId, ...(eventIds?.[i] === undefined ? {} : { eventId: eventIds[i] }) }, from + i);
    const entry = createEntry({ chainId, sequence: from + i, ts: "2026-01-01T00:00:00.000Z", prevHash: prev, event });
    out.push(entry);
    prev = entry.hash;
  }
  return out;
}

const headOf = (chainId: string, entries: readonly StoredEntry[]) => ({
  chainId,
  size: Number(entries.at(-1)?.rowKey ?? -1) + 1,
  lastHash: entries.at(-1)?.hash ?? GENESIS_HASH,
  updatedAt: "2026-01-01T00:00:00.000Z",
});

export function describeAuditLedgerContract(label: string, factory: () => Promise<{ ledger: AuditLedger; cleanup?: () => Promise<void> }>): void {
  describe(`AuditLedger contract: ${label}`, () => {
    it("has no head for an unknown chain", async () => {
      const { ledger, cleanup } = await factory();
      expect(await ledger.getHead("nobody")).toBeNull();
      expect(await collect(ledger.listEntries("nobody"))).toEqual([]);
      await cleanup?.();
    });

    it("commits entries, dedupe rows and head together and reads them back in order", async () => {
      const { ledger, cleanup } = await factory();
      const first = entriesFor("c1", 0, 3, GENESIS_HASH);
      const r1 = await ledger.commit({ chainId: "c1", expectedEtag: null, entries: first, head: headOf("c1", first) });
      expect(r1.committed).toBe(true);
      const head = await ledger.getHead("c1");
      expect(head).toMatchObject({ chainId: "c1", size: 3, lastHash: first[2]?.hash });
      expect(head?.etag).toBe(r1.committed ? r1.etag : "");
      const second = entriesFor("c1", 3, 2, first[2]!.hash);
      const r2 = await ledger.commit({ chainId: "c1", expectedEtag: head!.etag, entries: second, head: headOf("c1", second) });
      expect(r2.committed).toBe(true);
      const all = await collect(ledger.listEntries("c1"));
      expect(all.map((e) => e.rowKey)).toEqual(["000000000000", "000000000001", "000000000002", "000000000003", "000000000004"]);
      expect(all).toEqual([...first, ...second]);
      expect(await collect(ledger.listEntries("c1", { fromSequence: 1, toSequence: 3 }))).toEqual(first.slice(1, 3));
      // A small page (the checkpointer's) reads the same rows, across page boundaries.
      expect(await collect(ledger.listEntries("c1", { pageSize: 2 }))).toEqual(all);
      expect(await collect(ledger.listEntries("c1", { fromSequence: 1, pageSize: 1 }))).toEqual(all.slice(1));
      const found = await ledger.findAppended("c1", [first[1]!.eventId, "missing", second[1]!.eventId]);
      expect([...found.entries()].sort()).toEqual([[first[1]!.eventId, 1], [second[1]!.eventId, 4]].sort());
      await cleanup?.();
    });

    it("refuses a stale etag and writes nothing", async () => {
      const { ledger, cleanup } = await factory();
      const first = entriesFor("c2", 0, 1, GENESIS_HASH);
      const r1 = await ledger.commit({ chainId: "c2", expectedEtag: null, entries: first, head: headOf("c2", first) });
      if (!r1.committed) throw new Error("first commit failed");
      const a = entriesFor("c2", 1, 1, first[0]!.hash);
      expect((await ledger.commit({ chainId: "c2", expectedEtag: r1.etag, entries: a, head: headOf("c2", a) })).committed).toBe(true);
      const b = entriesFor("c2", 1, 1, first[0]!.hash);
      expect(await ledger.commit({ chainId: "c2", expectedEtag: r1.etag, entries: b, head: headOf("c2", b) })).toEqual({ committed: false, reason: "conflict" });
      expect((await collect(ledger.listEntries("c2"))).map((e) => e.eventId)).toEqual([first[0]!.eventId, a[0]!.eventId]);
      expect(await ledger.findAppended("c2", [b[0]!.eventId])).toEqual(new Map());
      await cleanup?.();
    });

    it("refuses to create a head that another writer created", async () => {
      const { ledger, cleanup } = await factory();
      const a = entriesFor("c3", 0, 1, GENESIS_HASH);
      const b = entriesFor("c3", 0, 1, GENESIS_HASH);
      expect((await ledger.commit({ chainId: "c3", expectedEtag: null, entries: a, head: headOf("c3", a) })).committed).toBe(true);
      expect((await ledger.commit({ chainId: "c3", expectedEtag: null, entries: b, head: headOf("c3", b) })).committed).toBe(false);
      expect((await collect(ledger.listEntries("c3"))).map((e) => e.eventId)).toEqual([a[0]!.eventId]);
      await cleanup?.();
    });

    it("fails the whole commit when an event id was already appended (dedupe row)", async () => {
      const { ledger, cleanup } = await factory();
      const first = entriesFor("c4", 0, 2, GENESIS_HASH, ["e/1#?", "e2"]);
      const r1 = await ledger.commit({ chainId: "c4", expectedEtag: null, entries: first, head: headOf("c4", first) });
      if (!r1.committed) throw new Error("first commit failed");
      const again = entriesFor("c4", 2, 2, first[1]!.hash, ["e3", "e/1#?"]);
      expect((await ledger.commit({ chainId: "c4", expectedEtag: r1.etag, entries: again, head: headOf("c4", again) })).committed).toBe(false);
      expect((await ledger.getHead("c4"))?.size).toBe(2);
      expect(await ledger.findAppended("c4", ["e/1#?", "e3"])).toEqual(new Map([["e/1#?", 0]]));
      await cleanup?.();
    });

    it("stores every entry exactly as given: non-ASCII, quotes, line breaks and boundary-like text, near the size limit", async () => {
      const { ledger, cleanup } = await factory();
      const chainId = "p.odd-chain_7";
      const awkward = `é ü 日本 "quoted" 'single' \r\n--changeset_x\r\nHTTP/1.1 204 No Content\r\n ${"x".repeat(20_000)}`;
      const event = makeAuditEvent({ project: chainId, eventId: "id'with/odd?chars#%", model: awkward }, 0);
      const entry = createEntry({ chainId, sequence: 0, ts: "2026-01-01T00:00:00.000Z", prevHash: GENESIS_HASH, event });
      expect(entry.canonical.length).toBeGreaterThan(20_000);
      expect((await ledger.commit({ chainId, expectedEtag: null, entries: [entry], head: headOf(chainId, [entry]) })).committed).toBe(true);
      expect(await collect(ledger.listEntries(chainId))).toEqual([entry]);
      expect(await ledger.findAppended(chainId, [event.eventId])).toEqual(new Map([[event.eventId, 0]]));
      expect(await ledger.getHead(chainId)).toMatchObject({ chainId, size: 1, lastHash: entry.hash });
      await cleanup?.();
    });

    it("takes a full commit of maxEntriesPerCommit and lists every chain", async () => {
      const { ledger, cleanup } = await factory();
      const n = ledger.maxEntriesPerCommit;
      const big = entriesFor("c5", 0, n, GENESIS_HASH);
      expect((await ledger.commit({ chainId: "c5", expectedEtag: null, entries: big, head: headOf("c5", big) })).committed).toBe(true);
      const other = entriesFor("c6", 0, 1, GENESIS_HASH);
      await ledger.commit({ chainId: "c6", expectedEtag: null, entries: other, head: headOf("c6", other) });
      expect((await collect(ledger.listEntries("c5"))).length).toBe(n);
      const chains = await collect(ledger.listChains());
      expect(chains.filter((c) => c.chainId === "c5" || c.chainId === "c6").map((c) => [c.chainId, c.size])).toEqual([
        ["c5", n],
        ["c6", 1],
      ]);
      await cleanup?.();
    });
  });
}
