import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";

/**
 * Issue 18 item 14: `palisade audit query | head` died with an EPIPE stack trace. The CLI runs as
 * users run it (`node bin/palisade.js`, the compiled code), its output piped into a reader that
 * takes the first line and closes, as `head -1` does. A command that prints many lines without the
 * local stack stands in for `audit query`: `dlp scan --jsonl`, one result line per input line.
 */

const LINES = 20_000;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

function runIntoEarlyClosingReader(): Promise<{ firstLine: string; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "bin", "palisade.js"), "dlp", "scan", "--jsonl"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    let buffered = "";
    let firstLine = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => (stderr += text));
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      buffered += text;
      const newline = buffered.indexOf("\n");
      if (newline >= 0 && firstLine === "") {
        firstLine = buffered.slice(0, newline);
        child.stdout.destroy(); // the reader has what it wanted and closes its end of the pipe
      }
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the CLI did not end within 60 s after its reader closed; stderr:\n${stderr}`));
    }, 60_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ firstLine, code, signal, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(Array.from({ length: LINES }, (_unused, index) => JSON.stringify({ text: `line ${index} write to someone@example.com` })).join("\n"));
  });
}

describe("palisade output into a reader that closes early", () => {
  it("stops quietly with exit code 0, no EPIPE and no stack trace", async () => {
    const outcome = await runIntoEarlyClosingReader();
    expect(JSON.parse(outcome.firstLine)).toMatchObject({ line: 1 });
    expect(outcome.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect({ code: outcome.code, signal: outcome.signal }).toEqual({ code: 0, signal: null });
  }, 120_000);
});
