import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { GCProfiler, type GCProfilerResult, getHeapSpaceStatistics } from "node:v8";
import { type Watch } from "./loopDiagnostics.js";

/** What the main isolate's heap did since the last read (bench/support/allocPerRequest.ts). */
export interface HeapFigures {
  readonly seconds: number;
  /** Bytes allocated in the young generation: new space (and its large objects) filled between collections. */
  readonly youngAllocatedBytes: number;
  /** Bytes allocated anywhere: the used heap's growth between collections (old-space sweeping makes it a lower bound). */
  readonly allocatedBytes: number;
  /** Bytes the scavenges moved to the old generation (objects that survived two of them). */
  readonly promotedBytes: number;
  readonly scavenges: number;
  readonly markCompacts: number;
}

/** Used bytes per heap space. getHeapSpaceStatistics() names the fields in snake case, the GC profiler in camel case. */
type Spaces = ReadonlyMap<string, number>;

function spacesOf(spaces: readonly object[]): Spaces {
  const used = new Map<string, number>();
  for (const space of spaces as readonly Record<string, unknown>[]) {
    const name = space.space_name ?? space.spaceName;
    const size = space.space_used_size ?? space.spaceUsedSize;
    if (typeof name === "string" && typeof size === "number") used.set(name, size);
  }
  return used;
}

const usedIn = (spaces: Spaces, names: readonly string[]): number => names.reduce((total, name) => total + (spaces.get(name) ?? 0), 0);
const YOUNG = ["new_space", "new_large_object_space"];
const OLD = ["old_space", "large_object_space", "code_space", "code_large_object_space"];
const ALL = [...YOUNG, ...OLD];

/** One collection's figures from its before and after snapshots, and what was allocated since the previous one ended. */
function account(previousAfter: Spaces, collection: GCProfilerResult["statistics"][number], into: { young: number; all: number; promoted: number }): Spaces {
  const before = spacesOf(collection.beforeGC.heapSpaceStatistics);
  const after = spacesOf(collection.afterGC.heapSpaceStatistics);
  into.young += Math.max(0, usedIn(before, YOUNG) - usedIn(previousAfter, YOUNG));
  into.all += Math.max(0, usedIn(before, ALL) - usedIn(previousAfter, ALL));
  if (collection.gcType === "Scavenge") into.promoted += Math.max(0, usedIn(after, OLD) - usedIn(before, OLD));
  return after;
}

/**
 * Counts the main isolate's allocation and promotion with V8's GC profiler (heap statistics before and
 * after each collection): deterministic for a given workload, unlike a latency, so it can be compared
 * on a busy machine. No V8 flag; the profiler only snapshots the heap at each collection.
 */
export function watchHeap(): Watch<HeapFigures> {
  let profiler = new GCProfiler();
  let startedAt = performance.now();
  let startSpaces = spacesOf(getHeapSpaceStatistics());
  profiler.start();
  return {
    read(): HeapFigures {
      const result = profiler.stop();
      const endSpaces = spacesOf(getHeapSpaceStatistics());
      const seconds = (performance.now() - startedAt) / 1000;
      profiler = new GCProfiler();
      profiler.start();
      const totals = { young: 0, all: 0, promoted: 0 };
      let previousAfter = startSpaces;
      let scavenges = 0;
      let markCompacts = 0;
      for (const collection of result.statistics) {
        previousAfter = account(previousAfter, collection, totals);
        if (collection.gcType === "Scavenge") scavenges += 1;
        else if (collection.gcType === "MarkSweepCompact") markCompacts += 1;
      }
      totals.young += Math.max(0, usedIn(endSpaces, YOUNG) - usedIn(previousAfter, YOUNG));
      totals.all += Math.max(0, usedIn(endSpaces, ALL) - usedIn(previousAfter, ALL));
      startSpaces = endSpaces;
      startedAt = performance.now();
      return { seconds, youngAllocatedBytes: totals.young, allocatedBytes: totals.all, promotedBytes: totals.promoted, scavenges, markCompacts };
    },
    close(): void {
      profiler.stop();
    },
  };
}

/**
 * A sampling heap profile of EVERY allocation (objects collected by scavenges and mark-compacts
 * kept), written to `file` at each read and started again: where the bytes are allocated, by site.
 * The profiler's own cost distorts the figures of `watchHeap`: run it in a round of its own.
 */
export function sampleAllocations(file: string, samplingInterval = 4096): Watch<Promise<void>> {
  const session = new Session();
  session.connect();
  const start = (): void =>
    session.post("HeapProfiler.startSampling", { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object, (error) => {
      if (error) process.stderr.write(`heap sampling failed: ${error.message}\n`);
    });
  session.post("HeapProfiler.enable", () => start());
  return {
    read(): Promise<void> {
      return new Promise((resolve) =>
        session.post("HeapProfiler.stopSampling", (error, result) => {
          if (!error) writeFileSync(file, JSON.stringify(result.profile));
          start();
          resolve();
        }),
      );
    },
    close(): void {
      session.disconnect();
    },
  };
}
