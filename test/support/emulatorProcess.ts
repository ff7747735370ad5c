import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./hostProcesses.js";

/**
 * The built Service Bus emulator in a process of its own, on `port` (0 = any), with one session queue,
 * so a test can kill it (SIGKILL) mid-request and start it again on the same port. Needs `ensureBuilt()`.
 */
export async function startEmulatorProcess(port: number, queue: string): Promise<{ child: ChildProcess; port: number }> {
  const module = join(ROOT, "dist", "local", "servicebus", "index.js");
  const script = [
    "const { startServiceBusEmulator } = await import(process.argv[1]);",
    `const emulator = await startServiceBusEmulator({ queues: [{ name: ${JSON.stringify(queue)}, requiresSession: true }], port: Number(process.argv[2]) });`,
    "console.log(JSON.stringify({ port: emulator.port }));",
    "setInterval(() => undefined, 1 << 30);",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, module, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([once(lines, "line"), once(child, "exit").then(() => [""])])) as [string];
  if (line === "") throw new Error("the emulator process exited before it listened");
  return { child, port: (JSON.parse(line) as { port: number }).port };
}
