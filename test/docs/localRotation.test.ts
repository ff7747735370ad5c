import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningIssuerStandIns, startIssuerStandIns } from "../../local/issuerStandIns.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";
import { documentedCommands, quote } from "./documentedCommands.js";

/**
 * docs/rotation.md, "Try it locally" (issue 18 item 15): the documented commands, run as written in
 * bash, in a shell whose environment is what `npm start` writes to .palisade/local.env (here a
 * temporary copy, and the stand-ins on free ports rather than npm start's fixed ones).
 */

const run = promisify(execFile);
let directory = "";
let stack: LocalStack | undefined;
let standIns: RunningIssuerStandIns | undefined;
let envFile = "";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-docs-rotation-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  standIns = await startIssuerStandIns(stack);
  const environment = { ...stack.environment, ...standIns.environment, PALISADE_POLICY: "config/policy.sample.yaml", PALISADE_LOG_LEVEL: "error" };
  envFile = join(directory, "local.env");
  await writeFile(envFile, `${Object.entries(environment).map(([name, value]) => `export ${name}=${quote(value)}`).join("\n")}\n`);
}, 120_000);

afterAll(async () => {
  await standIns?.stop();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("docs/rotation.md: Try it locally", () => {
  it("registers and rotates an Azure OpenAI key and an OpenAI service-account key against the stand-ins, as documented", async () => {
    const commands = await documentedCommands("docs/rotation.md", "### Try it locally");
    expect(commands).toContain("source .palisade/local.env");
    const script = `set -euo pipefail\n${commands.replace("source .palisade/local.env", `source ${quote(envFile)}`)}`;
    // A clean environment, as a new shell: nothing of the test runner's own settings.
    const shellEnvironment = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? directory, npm_config_cache: process.env.npm_config_cache ?? "" };
    const { stdout } = await run("bash", ["-c", script], { cwd: ROOT, env: shellEnvironment, timeout: 240_000, maxBuffer: 8 * 1024 * 1024 });
    expect(stdout).toMatch(/^Registered aoai-local \(azure-openai, project "demo"\)/m);
    expect(stdout).toMatch(/^aoai-local: draining, rotation /m);
    expect(stdout).toMatch(/^Registered openai-local \(openai, project "demo"\)/m);
    expect(stdout).toMatch(/^openai-local: draining, rotation /m);
    // The report lists both, each with a current and a previous version during the overlap.
    expect(stdout).toMatch(/managed-credential\s+aoai-local\s+\S+\s+demo\s+dev\s+current/);
    expect(stdout).toMatch(/managed-credential\s+openai-local\s+\S+\s+demo\s+dev\s+current/);
  }, 300_000);
});
