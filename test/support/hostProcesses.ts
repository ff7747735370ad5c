import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Several instances of the app as separate Node processes, the way Azure scales a Functions app out:
 * each runs `node bin/palisade.js host --port 0` (the compiled app), joins the local stack described
 * by the environment it is given, and prints `{"url": ...}` on stdout once it listens.
 */

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "bin", "palisade.js");
const BUILT_ENTRY = join(ROOT, "dist", "src", "cli", "index.js");
/** What the compiled host runs: a change in any of these needs a build. */
const SOURCE_DIRECTORIES = ["src", "local"] as const;
const STDERR_TAIL_CHARS = 8_192;

export interface BuildResult {
  /** False when dist was already newer than every source file. */
  readonly built: boolean;
  readonly durationInMs: number;
}

async function newestMtimeInMs(directory: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/**
 * Builds the app with tsc and bundles it (as `npm run build` does) when dist is missing or older than
 * src/ or local/.
 * tsc still emits when another file has a type error; the caller then runs what was emitted, and the
 * error is reported on stderr rather than failing a test that is about behaviour, not types.
 */
export async function ensureBuilt(options: { abortSignal?: AbortSignal } = {}): Promise<BuildResult> {
  const startedAt = Date.now();
  const sourceMtime = Math.max(...(await Promise.all(SOURCE_DIRECTORIES.map((directory) => newestMtimeInMs(join(ROOT, directory))))));
  if (existsSync(BUILT_ENTRY) && (await stat(BUILT_ENTRY)).mtimeMs >= sourceMtime) return { built: false, durationInMs: Date.now() - startedAt };
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT, ...(options.abortSignal ? { signal: options.abortSignal } : {}), maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const output = typeof error === "object" && error !== null && "stdout" in error ? String(error.stdout).slice(0, 2_000) : String(error);
    if (!existsSync(BUILT_ENTRY)) throw new Error(`the app could not be built (tsc -p tsconfig.build.json):\n${output}`);
    process.stderr.write(`hostProcesses: tsc reported errors but emitted the app; running what was emitted:\n${output}\n`);
  }
  // As `npm run build` does: bin/palisade.js runs the bundle, as users do (it ignores a stale one).
  await run(process.execPath, [join(ROOT, "bin", "bundle.mjs")], { cwd: ROOT, ...(options.abortSignal ? { signal: options.abortSignal } : {}) });
  return { built: true, durationInMs: Date.now() - startedAt };
}

export interface HostProcessesOptions {
  readonly count: number;
  /** The stack's settings and PALISADE_POLICY (added to this process's environment, minus the test runner's own). */
  readonly environment: Readonly<Record<string, string>>;
  /** Arguments after `host --port 0` (default: `--no-timers`). */
  readonly args?: readonly string[];
  /** How long one instance may take to print its URL. Default 30 s. */
  readonly readyTimeoutInMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. Default 5 s. */
  readonly stopTimeoutInMs?: number;
}

export interface HostProcess {
  /** `http://127.0.0.1:PORT/api`. */
  readonly url: string;
  readonly pid: number;
  /** The last few KB the instance wrote on stderr (its JSON log lines), for diagnostics. */
  stderrTail(): string;
}

export interface StoppedHost {
  readonly pid: number;
  /** How the process ended: `exit <code>`, or `signal <name>`. */
  readonly ending: string;
  /** True when it ended on SIGTERM alone, within the bound; false when it had to be killed. */
  readonly graceful: boolean;
  readonly durationInMs: number;
}

export interface RunningHostProcesses {
  readonly instances: readonly HostProcess[];
  readonly urls: readonly string[];
  /** SIGTERM each instance by PID, wait for it to exit, SIGKILL after the bound. Safe to call twice. */
  stop(): Promise<readonly StoppedHost[]>;
}

interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<string>;
  stderr: string;
  ended: string | null;
}

/** Children still running, killed if the test process exits without stopping them. */
const live = new Set<Child>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

function childEnvironment(environment: Readonly<Record<string, string>>): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    // The test runner's own settings (worker ids, loaders) are not the app's.
    if (value === undefined || name.startsWith("VITEST") || name === "NODE_OPTIONS" || name.startsWith("TINYPOOL")) continue;
    inherited[name] = value;
  }
  return { ...inherited, PALISADE_LOG_LEVEL: "error", ...environment };
}

function spawnHost(args: readonly string[], environment: Record<string, string>): Child {
  const child = spawn(process.execPath, [CLI, "host", "--port", "0", ...args], { cwd: ROOT, env: environment, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error("could not start `palisade host` (no PID)");
  const record: Child = {
    process: child,
    pid: child.pid,
    stderr: "",
    ended: null,
    exited: new Promise<string>((resolve) => {
      child.once("exit", (code, signal) => {
        record.ended = signal === null ? `exit ${String(code)}` : `signal ${signal}`;
        live.delete(record);
        resolve(record.ended);
      });
    }),
  };
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    record.stderr = (record.stderr + text).slice(-STDERR_TAIL_CHARS);
  });
  live.add(record);
  installExitHook();
  return record;
}

/** Resolves with the URL the instance prints; rejects when it exits first or the bound passes. */
function urlOf(child: Child, timeoutInMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buffered = "";
    let settled = false;
    const finish = (error: Error | null, url?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(url ?? "");
    };
    const timer = setTimeout(() => finish(new Error(`palisade host (pid ${child.pid}) printed no URL within ${timeoutInMs} ms; stderr:\n${child.stderr}`)), timeoutInMs);
    child.process.stdout?.setEncoding("utf8");
    // Keep reading stdout for the process's whole life, so a full pipe never blocks it.
    child.process.stdout?.on("data", (text: string) => {
      if (settled) return;
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed === "object" && parsed !== null && "url" in parsed && typeof parsed.url === "string") finish(null, parsed.url);
        } catch {
          // not the URL line
        }
      }
    });
    void child.exited.then((ending) => finish(new Error(`palisade host (pid ${child.pid}) ended (${ending}) before printing its URL; stderr:\n${child.stderr}`)));
  });
}

async function stopChild(child: Child, timeoutInMs: number): Promise<StoppedHost> {
  const startedAt = Date.now();
  if (child.ended !== null) return { pid: child.pid, ending: child.ended, graceful: true, durationInMs: 0 };
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {
    // exited meanwhile
  }
  let timer: NodeJS.Timeout | undefined;
  const ending = await Promise.race([child.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutInMs)))]);
  clearTimeout(timer);
  if (ending !== null) return { pid: child.pid, ending, graceful: true, durationInMs: Date.now() - startedAt };
  try {
    process.kill(child.pid, "SIGKILL");
  } catch {
    // exited meanwhile
  }
  return { pid: child.pid, ending: await child.exited, graceful: false, durationInMs: Date.now() - startedAt };
}

/** Starts `count` instances in parallel; if one fails to start, stops the others and throws. */
export async function startHostProcesses(options: HostProcessesOptions): Promise<RunningHostProcesses> {
  if (!existsSync(BUILT_ENTRY)) throw new Error("the app is not built: call ensureBuilt() first");
  const environment = childEnvironment(options.environment);
  const args = options.args ?? ["--no-timers"];
  const stopTimeoutInMs = options.stopTimeoutInMs ?? 5_000;
  const children: Child[] = [];
  for (let index = 0; index < options.count; index++) children.push(spawnHost(args, environment));
  let stopped: Promise<readonly StoppedHost[]> | null = null;
  const stop = (): Promise<readonly StoppedHost[]> => {
    stopped ??= Promise.all(children.map((child) => stopChild(child, stopTimeoutInMs)));
    return stopped;
  };
  const urls = await Promise.allSettled(children.map((child) => urlOf(child, options.readyTimeoutInMs ?? 30_000)));
  const failure = urls.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failure) {
    await stop();
    throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  }
  const instances = children.map((child, index) => {
    const result = urls[index];
    return { url: result?.status === "fulfilled" ? result.value : "", pid: child.pid, stderrTail: () => child.stderr };
  });
  return { instances, urls: instances.map((instance) => instance.url), stop };
}
