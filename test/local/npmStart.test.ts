import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable } from "node:stream";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";

const START = join(ROOT, "dist", "local", "start.js");

interface StartProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(stream: "stdout" | "stderr", text: string, timeoutInMs: number): Promise<void>;
}

const started: StartProcess[] = [];
const directories: string[] = [];

/** `npm start` as `npm start` runs it after its build (`node dist/local/start.js`), in a project directory of its own. */
function startNpmStart(cwd: string): StartProcess {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith("VITEST") && name !== "NODE_OPTIONS") env[name] = value;
  // The host on a free port (PALISADE_PORT); the sample policy from the checkout.
  Object.assign(env, { PALISADE_PORT: "0", PALISADE_POLICY: join(ROOT, "config", "policy.sample.yaml"), PALISADE_LOG_LEVEL: "error" });
  const child = spawn(process.execPath, [START], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream].on("data", (chunk: Buffer) => {
      output[stream] += chunk.toString("utf8");
      for (const listener of listeners) listener();
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const process_: StartProcess = {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    exited,
    waitFor: (stream, text, timeoutInMs) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!output[stream].includes(text)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`npm start did not print "${text}" within ${timeoutInMs} ms; stderr: ${output.stderr.slice(-2_000)}`));
        }, timeoutInMs);
        listeners.add(check);
        void exited.then(() => check());
        check();
      }),
  };
  started.push(process_);
  return process_;
}

/** Resolves with how long `exited` took, or null when it did not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  clearTimeout(timer);
  return result;
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

async function projectDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "palisade-npm-start-"));
  directories.push(directory);
  return directory;
}

/**
 * `npm start` runs Azurite and the Service Bus, Key Vault and content safety emulators each in a worker
 * thread of its own (local/isolatedStack.ts). An emulator that fails must be reported and end npm start
 * with a non-zero code, never leave it hanging; Ctrl-C (SIGINT) must stop everything it started.
 */
describe("npm start (local/start.ts) with the emulators in worker threads", () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 240_000);

  afterEach(async () => {
    for (const running of started.splice(0)) {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL");
      await running.exited;
    }
    for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
  });

  it("reports an emulator that fails in its thread and exits with code 1, without hanging", async () => {
    const directory = await projectDirectory();
    // The Key Vault emulator writes its certificate to .palisade/keyvault-emulator-ca.pem: a directory
    // there makes that write fail inside the emulator's thread.
    await mkdir(join(directory, ".palisade", "keyvault-emulator-ca.pem"), { recursive: true });
    const npmStart = startNpmStart(directory);
    const ending = await within(npmStart.exited, 60_000);
    expect(ending, `npm start did not exit; stderr: ${npmStart.stderr()}`).not.toBeNull();
    expect(ending?.code).toBe(1);
    expect(npmStart.stderr()).toContain("npm start failed: the keyvault emulator failed to start: EISDIR");
    expect(npmStart.stdout()).not.toContain("Palisade is running");
  }, 90_000);

  it("serves, then stops every emulator thread and server on Ctrl-C (SIGINT) and exits 0", async () => {
    const directory = await projectDirectory();
    const npmStart = startNpmStart(directory);
    await npmStart.waitFor("stdout", "Ctrl-C stops everything.", 90_000);
    const exports = Object.fromEntries(
      (await readFile(join(directory, ".palisade", "local.env"), "utf8"))
        .trim()
        .split("\n")
        .map((line) => /^export (\w+)=(.*)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1] ?? "", (match[2] ?? "").replace(/^'|'$/g, "")]),
    );
    // A governed request through the stack: key check, audit publishes to the Service Bus thread, appends to Azurite's.
    const response = await fetch(`${exports.OPENAI_BASE_URL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${exports.PALISADE_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(response.status).toBe(200);
    const endpoints = [
      /TableEndpoint=([^;]+)/.exec(exports.AZURE_STORAGE_CONNECTION_STRING ?? "")?.[1],
      /Endpoint=sb:\/\/([^;]+)/.exec(exports.SERVICEBUS_CONNECTION_STRING ?? "")?.[1]?.replace(/^/, "http://"),
      exports.AZURE_KEYVAULT_URL,
      exports.CONTENT_SAFETY_ENDPOINT,
      exports.OPENAI_BASE_URL,
      exports.PALISADE_ARM_BASE_URL,
    ];
    for (const endpoint of endpoints) expect(endpoint, `an endpoint is missing from local.env: ${JSON.stringify(endpoints)}`).toMatch(/^https?:\/\/127\.0\.0\.1:\d+/);
    for (const endpoint of endpoints) expect(await refusesConnections(endpoint ?? "")).toBe(false);

    npmStart.child.kill("SIGINT");
    const ending = await within(npmStart.exited, 30_000);
    expect(ending, `npm start did not exit after SIGINT; stderr: ${npmStart.stderr().slice(-2_000)}`).toEqual({ code: 0, signal: null });
    expect(npmStart.stderr()).toContain("Stopping Palisade and the local stack...");
    // Nothing it started outlives it: every emulator's and the host's port is closed.
    for (const endpoint of endpoints) expect(await refusesConnections(endpoint ?? "")).toBe(true);
  }, 150_000);
});
