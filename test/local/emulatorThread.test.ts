import { describe, expect, it } from "vitest";
import { startEmulatorThread } from "../../local/emulatorThread.js";

const fixture = (name: string): URL => new URL(`../fixtures/emulatorWorkers/${name}`, import.meta.url);

/**
 * The worker-thread wrapper npm start runs each emulator in (local/emulatorThread.ts), with stand-in
 * workers that fail the ways an emulator can: a thread that dies while serving, a start that fails,
 * a thread that ignores `stop`. (The real emulators in their threads: test/local/npmStart.test.ts.)
 */
describe("an emulator in a worker thread", () => {
  it("reports an error thrown in the thread after it started, with the emulator's name and the error", async () => {
    const thread = await startEmulatorThread("servicebus", {}, fixture("crashesAfterReady.mjs"));
    expect(thread.info).toEqual({ endpoint: "http://127.0.0.1:1" });
    const failure = await thread.failure;
    expect(failure.message).toContain("the servicebus emulator failed");
    expect(failure.message).toContain("emulator bug: a frame it could not handle");
    // Asking a dead thread fails at once rather than waiting forever.
    await expect(thread.stats()).rejects.toThrow();
    await thread.stop();
  });

  it("rejects the start when the emulator fails to start, saying why", async () => {
    await expect(startEmulatorThread("azurite", {}, fixture("failsToStart.mjs"))).rejects.toThrow(/the azurite emulator failed to start: listen EADDRINUSE/);
  });

  it("terminates a thread that does not stop by itself, and does not call that a failure", async () => {
    const thread = await startEmulatorThread("keyvault", {}, fixture("ignoresStop.mjs"));
    let failed = false;
    void thread.failure.then(() => (failed = true));
    const startedAt = Date.now();
    await thread.stop();
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failed).toBe(false);
  });
});
