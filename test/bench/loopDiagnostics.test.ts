import { afterEach, describe, expect, it } from "vitest";
import { type Watch, readLoopDiagnostics, serveLoopDiagnostics } from "../../bench/support/loopDiagnostics.js";
import { type LoopDiagnostics } from "../../local/loopWatch.js";

/** A watch that counts how often it was started and closed, and says which start it is. */
function countingWatches(): { starts: number; closes: number; running: () => number; start: () => Watch<LoopDiagnostics> } {
  const state = { starts: 0, closes: 0 };
  return {
    get starts() {
      return state.starts;
    },
    get closes() {
      return state.closes;
    },
    running: () => state.starts - state.closes,
    start() {
      state.starts += 1;
      const number = state.starts;
      return {
        read: () => ({ loopDelayP50Ms: number, loopDelayP99Ms: number, loopDelayMaxMs: number, gcCount: 0, gcMs: 0, gcMajorCount: 0, gcMajorMs: 0, gcMaxMs: 0 }),
        close: () => void (state.closes += 1),
      };
    },
  };
}

describe("serveLoopDiagnostics (the bench's watch on a child's loop)", () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it("stops its watchers on ?watch=off, so the child's own CPU is measured without the bench's 10 ms monitor, and starts them again on ?watch=on", async () => {
    const watches = countingWatches();
    const toggles: boolean[] = [];
    const server = await serveLoopDiagnostics((own) => own, { startWatch: () => watches.start(), onWatching: (watching) => toggles.push(watching) });
    servers.push(server);
    expect(watches.running()).toBe(1);

    // The read that stops the watch still answers what it saw.
    const last = await readLoopDiagnostics(server.url, "off");
    expect(last?.loopDelayMaxMs).toBe(1);
    expect(watches.running()).toBe(0);
    expect(toggles).toEqual([false]);

    // While off, a read answers nothing seen and starts nothing.
    const quiet = await readLoopDiagnostics(server.url);
    expect(quiet?.loopDelayMaxMs).toBe(0);
    expect(watches.running()).toBe(0);

    await readLoopDiagnostics(server.url, "on");
    expect(watches.running()).toBe(1);
    expect(toggles).toEqual([false, true]);
    expect((await readLoopDiagnostics(server.url))?.loopDelayMaxMs).toBe(2);

    server.close();
    servers.length = 0;
    expect(watches.running()).toBe(0);
  });

  it("keeps watching through plain reads", async () => {
    const watches = countingWatches();
    const server = await serveLoopDiagnostics((own) => own, { startWatch: () => watches.start() });
    servers.push(server);
    await readLoopDiagnostics(server.url);
    await readLoopDiagnostics(server.url, "on");
    expect(watches.starts).toBe(1);
    expect(watches.running()).toBe(1);
  });
});
