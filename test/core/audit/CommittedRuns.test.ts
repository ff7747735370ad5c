import { describe, expect, it } from "vitest";
import { CommittedRuns } from "../../../src/core/audit/CommittedRuns.js";
import { GENESIS_HASH } from "../../../src/core/audit/ChainEntry.js";

const h = (n: number): string => n.toString(16).padStart(64, "0");
const hashes = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => h(from + i + 1));

describe("CommittedRuns", () => {
  it("extends a chain's run with each commit that continues it", () => {
    const runs = new CommittedRuns({ perChain: 100, total: 1_000 });
    runs.committed("a", 0, GENESIS_HASH, hashes(0, 3));
    runs.committed("a", 3, h(3), hashes(3, 5));
    expect(runs.get("a")).toEqual({ from: 0, prevHash: GENESIS_HASH, hashes: hashes(0, 5) });
  });

  it("starts a new run when a commit does not continue it (another writer appended in between, or the link differs)", () => {
    const runs = new CommittedRuns({ perChain: 100, total: 1_000 });
    runs.committed("a", 0, GENESIS_HASH, hashes(0, 3));
    runs.committed("a", 5, h(5), hashes(5, 7));
    expect(runs.get("a")).toEqual({ from: 5, prevHash: h(5), hashes: hashes(5, 7) });
    runs.committed("a", 7, "f".repeat(64), hashes(7, 8));
    expect(runs.get("a")).toEqual({ from: 7, prevHash: "f".repeat(64), hashes: hashes(7, 8) });
    expect(runs.size).toBe(1);
  });

  it("keeps the newest hashes of a chain, and forgets the least recently appended chain past the total", () => {
    const runs = new CommittedRuns({ perChain: 4, total: 6 });
    runs.committed("a", 0, GENESIS_HASH, hashes(0, 3));
    runs.committed("a", 3, h(3), hashes(3, 6));
    expect(runs.get("a")).toEqual({ from: 2, prevHash: h(2), hashes: hashes(2, 6) });
    runs.committed("b", 0, GENESIS_HASH, hashes(0, 2));
    expect(runs.size).toBe(6);
    runs.committed("b", 2, h(2), hashes(2, 3));
    expect(runs.get("a")).toBeUndefined();
    expect(runs.get("b")).toEqual({ from: 0, prevHash: GENESIS_HASH, hashes: hashes(0, 3) });
    expect(runs.size).toBe(3);
  });

  it("drops what a checkpoint covers, and everything on forget", () => {
    const runs = new CommittedRuns({ perChain: 100, total: 1_000 });
    runs.committed("a", 10, h(10), hashes(10, 20));
    runs.checkpointed("a", 5);
    expect(runs.get("a")?.from).toBe(10);
    runs.checkpointed("a", 15);
    expect(runs.get("a")).toEqual({ from: 15, prevHash: h(15), hashes: hashes(15, 20) });
    expect(runs.size).toBe(5);
    runs.checkpointed("a", 20);
    expect(runs.get("a")).toBeUndefined();
    runs.committed("a", 20, h(20), hashes(20, 22));
    runs.forget("a");
    expect(runs.get("a")).toBeUndefined();
    expect(runs.size).toBe(0);
  });

  it("hands out a copy: the appender's later commits do not change a run a checkpoint is using", () => {
    const runs = new CommittedRuns({ perChain: 100, total: 1_000 });
    runs.committed("a", 0, GENESIS_HASH, hashes(0, 2));
    const taken = runs.get("a");
    runs.committed("a", 2, h(2), hashes(2, 4));
    runs.checkpointed("a", 1);
    expect(taken).toEqual({ from: 0, prevHash: GENESIS_HASH, hashes: hashes(0, 2) });
  });
});
