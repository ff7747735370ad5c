import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorThread } from "../../local/emulatorThread.js";

/** Stand-in emulator workers (local/emulatorWorker.ts's protocol), written to a temporary directory: Node runs them as they are. */
const STAND_INS: Readonly<Record<string, string>> = {
  "crashesAfterReady.mjs": `// A stand-in emulator worker (local/emulatorWorker.ts's protocol) that starts, then throws from a
// timer, as an emulator with a bug would: the parent must see the thread die and report it.
import { parentPort } from "node:worker_threads";

parentPort.postMessage({ type: "ready", info: { endpoint: "http://127.0.0.1:1" } });
setTimeout(() => {
  throw new Error("emulator bug: a frame it could not handle");
}, 100);
`,
  "failsToStart.mjs": `// A stand-in emulator worker whose start fails: it posts \`failed\`, as local/emulatorWorker.ts does.
import { parentPort } from "node:worker_threads";

parentPort.postMessage({ type: "failed", message: "listen EADDRINUSE: address already in use 127.0.0.1:10002" });
`,
  "ignoresStop.mjs": `// A stand-in emulator worker that never answers \`stop\` and keeps a timer alive: the parent must
// terminate it after the grace period rather than wait forever.
import { parentPort } from "node:worker_threads";

parentPort.postMessage({ type: "ready", info: {} });
parentPort.on("message", () => undefined);
setInterval(() => undefined, 1_000);
`,
};

let directory = "";
const fixture = (name: string): URL => pathToFileURL(join(directory, name));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-emulator-workers-"));
  for (const [name, source] of Object.entries(STAND_INS)) await writeFile(join(directory, name), source);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

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
    // Asking a dead thread fails at once rather than waiting forever (also once it has fully exited).
    await expect(thread.stats()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(thread.diagnostics()).rejects.toThrow(/the servicebus emulator is gone/);
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
