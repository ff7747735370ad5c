import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { ROOT, type RunningHostProcesses, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";
import { documentedCommands, quote } from "./documentedCommands.js";

/**
 * README.md, "Content safety": the documented commands, run as written in bash with what `npm start`
 * writes to .palisade/local.env, against a host with the sample policy and the stack's Content Safety
 * emulator. The only change to the policy: its endpoints point at a mock upstream on a free port (npm
 * start's are on fixed ports, which tests must not take).
 */

const run = promisify(execFile);
let directory = "";
let stack: LocalStack | undefined;
let mock: RunningMockOpenAi | undefined;
let hosts: RunningHostProcesses | undefined;
let envFile = "";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-docs-safety-"));
  const [, started, upstream] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory }), startMockOpenAi({ name: "mock-eu", region: "westeurope" })]);
  stack = started;
  mock = upstream;
  const sample = parse(await readFile(join(ROOT, "config", "policy.sample.yaml"), "utf8")) as Record<string, unknown> & { endpoints: Record<string, unknown>[] };
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify({ ...sample, endpoints: sample.endpoints.map((endpoint) => ({ ...endpoint, baseUrl: upstream.url })) }));
  const environment = { ...stack.environment, PALISADE_POLICY: policyPath };
  const cli = new CliServices(environment);
  const apiKey = (await (await cli.apiKeyService()).create({ project: "demo", serviceAccount: "demo-app", expiresInMs: 3_600_000 })).apiKey;
  await cli.close();
  hosts = await startHostProcesses({ count: 1, environment, args: ["--no-timers"], stopTimeoutInMs: 3_000 });
  envFile = join(directory, "local.env");
  const exports = { OPENAI_BASE_URL: `${hosts.urls[0] ?? ""}/v1`, OPENAI_API_KEY: apiKey, PALISADE_API_KEY: apiKey, ...environment, PALISADE_LOG_LEVEL: "error" };
  await writeFile(envFile, `${Object.entries(exports).map(([name, value]) => `export ${name}=${quote(value)}`).join("\n")}\n`);
}, 150_000);

afterAll(async () => {
  await hosts?.stop();
  await mock?.stop();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("README.md: Content safety, from a shell after npm start", () => {
  it("refuses the jailbreak, the injected tool output, the injected text to embed and the harmful prompt, and passes the benign request", async () => {
    const commands = await documentedCommands("README.md", "## Content safety");
    expect(commands).toContain("source .palisade/local.env");
    const script = `set -euo pipefail\n${commands.replace("source .palisade/local.env", `source ${quote(envFile)}`)}`;
    const shellEnvironment = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? directory };
    mock?.clearRequests();
    const { stdout } = await run("bash", ["-c", script], { cwd: ROOT, env: shellEnvironment, timeout: 60_000 });
    const answers = stdout.trim().split("\n").map((line) => JSON.parse(line) as { error?: { code?: string; message?: string } | null; output?: unknown[] });
    expect(answers).toHaveLength(5);
    const [jailbreak, injected, embedded, harmful, benign] = answers;
    expect(jailbreak?.error).toMatchObject({ code: "content_filter", message: expect.stringContaining("prompt attack in the user prompt") });
    expect(injected?.error).toMatchObject({ code: "content_filter", message: expect.stringContaining("prompt attack in a document") });
    expect(embedded?.error).toMatchObject({ code: "content_filter", message: expect.stringContaining("prompt attack in a document") });
    expect(harmful?.error).toMatchObject({ code: "content_filter", message: expect.stringContaining("Violence (severity 6)") });
    expect(benign?.error ?? null).toBeNull();
    expect(benign?.output).toEqual(expect.arrayContaining([expect.objectContaining({ type: "message" })]));
    // Only the benign request reached the model.
    expect(mock?.requests()).toHaveLength(1);
  }, 120_000);
});
