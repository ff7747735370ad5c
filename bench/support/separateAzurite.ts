import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { affinityOf, canPin, pin } from "./procStats.js";
import { stopChild } from "./stopChild.js";

export interface SeparateAzurite {
  readonly connectionString: string;
  /** True when Azurite and this process were pinned to different cores. */
  readonly pinned: boolean;
  stop(): Promise<void>;
}

/**
 * Starts Azurite in a child process (pinned to core 1, this process to core 0, when `taskset`
 * exists and there are two cores or more), as Table Storage is a separate service in Azure.
 */
export async function startSeparateAzurite(): Promise<SeparateAzurite> {
  const script = fileURLToPath(new URL("./azuriteServer.js", import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing: run the bench from the build (npm run bench)`);
  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  if (pinned) pin(process.pid, "0");
  const [command, args] = pinned ? ["taskset", ["-c", "1", process.execPath, script]] : [process.execPath, [script]];
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => void (stderr = `${stderr}${chunk.toString("utf8")}`.slice(-4000)));
  const restore = (): void => {
    if (originalAffinity !== null) pin(process.pid, originalAffinity);
  };
  try {
    const connectionString = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      const timer = setTimeout(() => reject(new Error(`Azurite did not start within 30 s: ${stderr}`)), 30_000);
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        const newline = stdout.indexOf("\n");
        if (newline < 0) return;
        clearTimeout(timer);
        resolve((JSON.parse(stdout.slice(0, newline)) as { connectionString: string }).connectionString);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited with ${String(code)}: ${stderr}`));
      });
    });
    return {
      connectionString,
      pinned,
      async stop() {
        restore();
        await stopChild(child);
      },
    };
  } catch (error) {
    restore();
    child.kill("SIGKILL");
    throw error;
  }
}
