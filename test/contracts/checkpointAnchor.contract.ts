import { describe, expect, it } from "vitest";
import { type CheckpointAnchor } from "../../src/core/audit/CheckpointAnchor.js";
import { type SignedCheckpoint } from "../../src/core/audit/checkpointNote.js";

const note = (origin: string, size: number, root = "ab".repeat(32)): SignedCheckpoint => ({
  origin,
  size,
  rootHash: root,
  timestamp: "2026-01-01T00:00:00.000Z",
  keyId: "k1",
  algorithm: "ES256",
  signature: Buffer.alloc(64, size).toString("base64"),
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function describeCheckpointAnchorContract(label: string, factory: () => Promise<{ anchor: CheckpointAnchor }>): void {
  describe(`CheckpointAnchor contract: ${label}`, () => {
    it("stores notes and lists them by size, per chain", async () => {
      const { anchor } = await factory();
      expect(await anchor.getLatest("a")).toBeNull();
      expect(await anchor.put(note("a", 1000))).toBe("stored");
      expect(await anchor.put(note("a", 5))).toBe("stored");
      expect(await anchor.put(note("b", 7))).toBe("stored");
      expect((await collect(anchor.list("a"))).map((c) => c.size)).toEqual([5, 1000]);
      expect(await anchor.getLatest("a")).toEqual(note("a", 1000));
      expect((await collect(anchor.list("b"))).map((c) => c.size)).toEqual([7]);
    });

    it("never overwrites a stored note", async () => {
      const { anchor } = await factory();
      expect(await anchor.put(note("c", 3))).toBe("stored");
      expect(await anchor.put(note("c", 3, "cd".repeat(32)))).toBe("exists");
      expect((await anchor.getLatest("c"))?.rootHash).toBe("ab".repeat(32));
    });
  });
}
