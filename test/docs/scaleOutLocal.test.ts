import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";
import { quote } from "./documentedCommands.js";

/**
 * docs/scale-out.md (issue 18 items 6 and 15): `source .palisade/local.env && npx palisade host --port
 * 7072`, run in bash with what `npm start` writes (OPENAI_BASE_URL and OPENAI_API_KEY-style settings
 * included). The only change to the documented line: port 0 for 7072, because tests never take fixed
 * ports. The new instance must serve the development key.
 */

let directory = "";
let stack: LocalStack | undefined;
let envFile = "";
let apiKey = "";
let child: ChildProcess | undefined;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-docs-scale-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  const environment = { ...stack.environment, PALISADE_POLICY: "config/policy.sample.yaml" };
  const cli = new CliServices(environment);
  apiKey = (await (await cli.apiKeyService()).create({ project: "demo", serviceAccount: "demo-app", expiresInMs: 3_600_000 })).apiKey;
  await cli.close();
  envFile = join(directory, "local.env");
  // As npm start writes it: the first instance's URL as OPENAI_BASE_URL, the development key, the stack.
  const exports = { OPENAI_BASE_URL: "http://127.0.0.1:7071/api/v1", PALISADE_API_KEY: apiKey, ...environment, PALISADE_LOG_LEVEL: "error" };
  await writeFile(envFile, `${Object.entries(exports).map(([name, value]) => `export ${name}=${quote(value)}`).join("\n")}\n`);
}, 120_000);

afterAll(async () => {
  // The shell and the instance it started form one process group, started here: stop it by its id.
  if (child?.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("docs/scale-out.md: one more instance from a shell", () => {
  it("joins the running stack and serves the development key", async () => {
    const doc = await readFile(join(ROOT, "docs", "scale-out.md"), "utf8");
    const documented = "source .palisade/local.env && npx palisade host --port 7072";
    expect(doc).toContain(documented);
    const line = documented.replace("source .palisade/local.env", `source ${quote(envFile)}`).replace("--port 7072", "--port 0");
    child = spawn("bash", ["-c", line], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? directory }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (text: Buffer) => (stderr = (stderr + text.toString()).slice(-4_000)));
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stderr:\n${stderr}`)), 60_000);
      child?.stdout?.on("data", (text: Buffer) => {
        buffered += text.toString();
        const match = /\{"url":"([^"]+)"/.exec(buffered);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child?.once("exit", (code) => reject(new Error(`palisade host exited (${String(code)}); stderr:\n${stderr}`)));
    });
    expect(stderr).toContain(`palisade host listening on ${url}`);
    const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(30_000) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { id: string }[] }).data.map((model) => model.id)).toContain("gpt-4o-mini");
  }, 120_000);
});
