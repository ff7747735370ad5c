import "../local/quietTestModeWarnings.js";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { startLocalHost } from "../local/host/index.js";
import { loadFunctionDefinitions } from "../local/loadFunctionDefinitions.js";
import { startIsolatedLocalStack } from "../local/isolatedStack.js";
import { createAppServices } from "../src/composition/appServices.js";
import { parseSettings } from "../src/composition/settings.js";

/**
 * How long the local stack takes to be usable, and to go away (issue target: start-up to ready <= 5 s):
 * - startUpToReadyMs: the stack as `npm start` runs it (startIsolatedLocalStack: each emulator in a
 *   worker thread) + the in-process Functions host (definitions loaded, Service Bus triggers on) + the
 *   first GET /api/healthz 200.
 *   Median of 3 runs (1 when quick); the first run also pays module loading, reported alone as
 *   coldStartUpToReadyMs. stackStartMs and hostStartMs split it.
 * - appServicesMs: building the app's services on that stack from config/policy.sample.yaml (what the
 *   first governed request of an instance pays: tables, Key Vault digest key, clients).
 * - stopMs: the host's and the stack's stop.
 * - instanceJoinMs: one more instance as its own process (`palisade host --port 0`, the compiled CLI)
 *   until its first /api/healthz 200; instanceStopMs: SIGTERM until it exits (NaN when it had not
 *   exited after 5 s and was killed; instanceStopsKilled counts those runs). NaN when the CLI is not built.
 */

const elapsed = (from: number): number => Math.round((performance.now() - from) * 10) / 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The repository root: bench/ in a checkout, dist/bench/ once compiled. */
function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    if (existsSync(join(directory, "package.json")) && existsSync(join(directory, "bin", "palisade.js"))) return directory;
    directory = dirname(directory);
  }
  throw new Error("cannot find the repository root (package.json and bin/palisade.js) above bench/");
}

async function healthy(url: string, timeoutInMs: number): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/healthz did not answer 200 within ${timeoutInMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface RunFigures {
  readonly stackStartMs: number;
  readonly hostStartMs: number;
  readonly startUpToReadyMs: number;
  readonly appServicesMs: number;
  readonly stopMs: number;
  readonly instanceJoinMs: number;
  readonly instanceStopMs: number;
  readonly instanceKilled: number;
}

/** One `palisade host` process joining the stack: spawn until healthz 200, then SIGTERM until exit (SIGKILL after 5 s). */
async function measureInstance(root: string, environment: Readonly<Record<string, string>>): Promise<{ joinMs: number; stopMs: number; killed: number }> {
  const cli = join(root, "bin", "palisade.js");
  if (!existsSync(join(root, "dist", "src", "cli", "index.js"))) return { joinMs: Number.NaN, stopMs: Number.NaN, killed: 0 };
  const startedAt = performance.now();
  const child = spawn(process.execPath, [cli, "host", "--port", "0", "--no-timers"], {
    cwd: root,
    env: { ...process.env, PALISADE_LOG_LEVEL: "error", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => reject(new Error("palisade host printed no URL within 30 s")), 30_000);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (text: string) => {
        buffered += text;
        const match = /\{"url":"([^"]+)"\}/.exec(buffered);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.stderr.resume();
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error("palisade host exited before printing its URL"));
      });
    });
    await healthy(url, 10_000);
    const joinMs = elapsed(startedAt);
    const stopAt = performance.now();
    if (child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000)))]);
    clearTimeout(timer);
    return { joinMs, stopMs: ended ? elapsed(stopAt) : Number.NaN, killed: ended ? 0 : 1 };
  } finally {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
  }
}

async function runOnce(root: string): Promise<RunFigures> {
  const directory = await mkdtemp(join(tmpdir(), "palisade-bench-stack-"));
  try {
    const startedAt = performance.now();
    const stack = await startIsolatedLocalStack({ stateDirectory: directory });
    const stackStartMs = elapsed(startedAt);
    let stopMs = Number.NaN;
    try {
      const hostAt = performance.now();
      const host = await startLocalHost({
        definitions: await loadFunctionDefinitions(),
        port: 0,
        environment: stack.environment,
        runTimers: false,
        runServiceBusTriggers: true,
        log: () => undefined,
      });
      try {
        await healthy(host.url, 10_000);
        const hostStartMs = elapsed(hostAt);
        const startUpToReadyMs = elapsed(startedAt);

        const environment = { ...stack.environment, PALISADE_POLICY: join(root, "config", "policy.sample.yaml"), PALISADE_LOG_LEVEL: "error" };
        const servicesAt = performance.now();
        const services = await createAppServices(parseSettings(environment));
        const appServicesMs = elapsed(servicesAt);
        await services.close();

        const instance = await measureInstance(root, environment);
        const stopAt = performance.now();
        await host.stop();
        await stack.stop();
        stopMs = elapsed(stopAt);
        return { stackStartMs, hostStartMs, startUpToReadyMs, appServicesMs, stopMs, instanceJoinMs: instance.joinMs, instanceStopMs: instance.stopMs, instanceKilled: instance.killed };
      } finally {
        if (Number.isNaN(stopMs)) await host.stop().catch(() => undefined);
      }
    } finally {
      if (Number.isNaN(stopMs)) await stack.stop();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export async function runStackBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const root = repositoryRoot();
  const runs: RunFigures[] = [];
  for (let index = 0; index < (options.quick ? 1 : 3); index++) runs.push(await runOnce(root));
  const pick = (name: keyof RunFigures): number => median(runs.map((figures) => figures[name]));
  return {
    startUpToReadyMs: pick("startUpToReadyMs"),
    coldStartUpToReadyMs: runs[0]?.startUpToReadyMs ?? Number.NaN,
    stackStartMs: pick("stackStartMs"),
    hostStartMs: pick("hostStartMs"),
    appServicesMs: pick("appServicesMs"),
    stopMs: pick("stopMs"),
    instanceJoinMs: pick("instanceJoinMs"),
    instanceStopMs: median(runs.map((figures) => figures.instanceStopMs).filter((value) => !Number.isNaN(value))),
    instanceStopsKilled: runs.reduce((sum, figures) => sum + figures.instanceKilled, 0),
    runs: runs.length,
  };
}
