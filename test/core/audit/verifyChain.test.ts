import { describe, expect, it } from "vitest";
import { type ChainHead } from "../../../src/core/audit/AuditLedger.js";
import { createEntry, GENESIS_HASH, type StoredEntry } from "../../../src/core/audit/ChainEntry.js";
import { sha256Hex } from "../../../src/core/audit/hashing.js";
import { verifyChain } from "../../../src/core/audit/verifyChain.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { loopTurnsDuring } from "../../support/loopTurns.js";

function chain(n: number, chainId = "a"): { entries: StoredEntry[]; head: ChainHead } {
  const entries: StoredEntry[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < n; i += 1) {
    const e = createEntry({ chainId, sequence: i, ts: "2026-01-01T00:00:00.000Z", prevHash: prev, event: makeAuditEvent({ project: chainId }, i) });
    entries.push(e);
    prev = e.hash;
  }
  return { entries, head: { chainId, size: n, lastHash: prev, updatedAt: "x" } };
}

async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

const verifier = new InMemoryCheckpointSigner().verifier();
const run = (entries: StoredEntry[], head: ChainHead | null, extra: { onProgress?: (n: number) => void; progressEvery?: number } = {}) =>
  verifyChain({ chainId: "a", head, entries: iterate(entries), checkpoints: [], signatureVerifier: verifier, ...extra });

describe("verifyChain", () => {
  it("accepts an intact chain (and an empty one) and reports progress", async () => {
    const { entries, head } = chain(25);
    const seen: number[] = [];
    expect(await run(entries, head, { onProgress: (n) => seen.push(n), progressEvery: 10 })).toMatchObject({ intact: true, entriesChecked: 25 });
    expect(seen).toEqual([10, 20]);
    expect(await run([], null)).toMatchObject({ intact: true, entriesChecked: 0 });
  });

  it("lets the event loop turn every yieldEvery entries, and not at all without it", async () => {
    const { entries, head } = chain(500);
    const turnsDuring = async (yieldEvery?: number): Promise<number> => {
      const { result, turns } = await loopTurnsDuring(() => verifyChain({ chainId: "a", head, entries: iterate(entries), checkpoints: [], signatureVerifier: verifier, ...(yieldEvery === undefined ? {} : { yieldEvery }) }));
      expect(result).toMatchObject({ intact: true, entriesChecked: 500 });
      return turns;
    };
    expect(await turnsDuring()).toBe(0);
    expect(await turnsDuring(100)).toBeGreaterThanOrEqual(4);
  });

  it("refuses bytes that are valid JSON but not canonical, even with a matching hash", async () => {
    const { entries, head } = chain(3);
    const e = entries[1]!;
    const spaced = e.canonical.replace("{", "{ ");
    entries[1] = { ...e, canonical: spaced, hash: sha256Hex(spaced) };
    expect(await run(entries, head)).toMatchObject({ intact: false, problem: "payload_edited", firstBadSequence: 1 });
  });

  it("refuses a column that disagrees with the hashed event", async () => {
    const { entries, head } = chain(3);
    entries[2] = { ...entries[2]!, actorId: "someone-else" };
    expect(await run(entries, head)).toMatchObject({ intact: false, problem: "payload_edited", firstBadSequence: 2 });
  });

  it("names a rewritten link whose successor was also rewritten as a broken link", async () => {
    const { entries, head } = chain(5);
    // Entry 2 re-pointed at a bogus predecessor and rehashed; entry 3 still points at the old entry 2.
    const forged = createEntry({ chainId: "a", sequence: 2, ts: entries[2]!.ts, prevHash: "f".repeat(64), event: makeAuditEvent({ project: "a" }, 2) });
    entries[2] = forged;
    expect(await run(entries, head)).toMatchObject({ intact: false, problem: "broken_link", firstBadSequence: 2 });
  });

  it("checks the head: size and last hash", async () => {
    const { entries, head } = chain(4);
    expect(await run(entries, { ...head, size: 6 })).toMatchObject({ intact: false, problem: "sequence_gap", firstBadSequence: 4 });
    expect(await run(entries, { ...head, lastHash: "0".repeat(64) })).toMatchObject({ intact: false, problem: "head_mismatch", firstBadSequence: 3 });
    expect(await run(entries, null)).toMatchObject({ intact: false, problem: "head_mismatch" });
  });

  it("refuses an entry of another chain and a row key that is no position", async () => {
    const { entries, head } = chain(3);
    const foreign = chain(3, "b").entries[1]!;
    expect(await run([entries[0]!, { ...foreign, chainId: "a" }, entries[2]!], head)).toMatchObject({ intact: false, firstBadSequence: 1 });
    expect(await run([entries[0]!, { ...entries[1]!, rowKey: "000000000000x" }, entries[1]!, entries[2]!], head)).toMatchObject({
      intact: false,
      problem: "inserted",
      firstBadSequence: 1,
    });
  });
});
