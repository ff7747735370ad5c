import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export type ChromiumAvailability = { readonly available: true; readonly path: string } | { readonly available: false; readonly reason: string };

const INSTALL_TIMEOUT_IN_MS = 10 * 60_000;

/**
 * Debian's `chromium`, installed with apt-get when it is missing and we are root. Never throws:
 * when it cannot be had, says why, so the test can be skipped with that reason in its name.
 */
export function ensureChromium(): ChromiumAvailability {
  if (existsSync(CHROMIUM_PATH)) return { available: true, path: CHROMIUM_PATH };
  if (process.platform !== "linux") return { available: false, reason: `not Linux (${process.platform})` };
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return { available: false, reason: `${CHROMIUM_PATH} is missing and installing it needs root` };
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update"], { env, stdio: "ignore", timeout: INSTALL_TIMEOUT_IN_MS });
  if (update.status !== 0) return { available: false, reason: "apt-get update failed (no network or no apt)" };
  const install = spawnSync("apt-get", ["install", "-y", "-o", "DPkg::Lock::Timeout=300", "chromium"], { env, stdio: "ignore", timeout: INSTALL_TIMEOUT_IN_MS });
  if (install.status !== 0 || !existsSync(CHROMIUM_PATH)) return { available: false, reason: "apt-get install chromium failed" };
  return { available: true, path: CHROMIUM_PATH };
}

export interface ChromiumRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Headless, sandbox-less, no network chatter, a throw-away profile; killed after `timeoutInMs`. */
export async function runHeadlessChromium(path: string, args: readonly string[], timeoutInMs = 60_000): Promise<ChromiumRun> {
  const profile = await mkdtemp(join(tmpdir(), "palisade-chromium-"));
  try {
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      ...args,
    ];
    return await new Promise<ChromiumRun>((resolve, reject) => {
      const child = spawn(path, flags, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`chromium did not finish within ${timeoutInMs} ms`));
      }, timeoutInMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("close", (exitCode) => {
        clearTimeout(timer);
        resolve({ exitCode, stdout, stderr });
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
