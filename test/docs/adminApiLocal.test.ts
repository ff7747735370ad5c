import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type RunningDevIssuer, startDevIssuer } from "../../local/devIssuer.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { ROOT, type RunningHostProcesses, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";
import { documentedCommands, quote } from "./documentedCommands.js";

/**
 * docs/admin-api.md, "Locally" (issue 18 item 15): a token from `palisade dev token`, then the admin
 * API, run as written in bash with what `npm start` writes to .palisade/local.env. The sample policy
 * is used as it is, except that its `entra` section points at this test's issuer (npm start's is on
 * the fixed port 7108, which tests must not take).
 */

const run = promisify(execFile);
let directory = "";
let stack: LocalStack | undefined;
let issuer: RunningDevIssuer | undefined;
let hosts: RunningHostProcesses | undefined;
let envFile = "";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-docs-admin-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  issuer = await startDevIssuer({ stateDirectory: directory });
  const sample = parse(await readFile(join(ROOT, "config", "policy.sample.yaml"), "utf8")) as Record<string, unknown> & { entra: Record<string, unknown> };
  expect(sample.entra).toMatchObject({ issuer: "http://127.0.0.1:7108/palisade-dev", jwksUri: "http://127.0.0.1:7108/.well-known/jwks.json", audience: "api://palisade" });
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify({ ...sample, entra: { ...sample.entra, issuer: issuer.issuer, jwksUri: issuer.jwksUri } }));
  const environment = { ...stack.environment, PALISADE_POLICY: policyPath, PALISADE_DEV_ISSUER_KEY: issuer.keyPath };
  hosts = await startHostProcesses({ count: 1, environment, args: ["--no-timers"], stopTimeoutInMs: 3_000 });
  envFile = join(directory, "local.env");
  const exports = { OPENAI_BASE_URL: `${hosts.urls[0] ?? ""}/v1`, ...environment, PALISADE_LOG_LEVEL: "error" };
  await writeFile(envFile, `${Object.entries(exports).map(([name, value]) => `export ${name}=${quote(value)}`).join("\n")}\n`);
}, 150_000);

afterAll(async () => {
  await hosts?.stop();
  await issuer?.stop();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("docs/admin-api.md: a token locally", () => {
  it("gets a token with `palisade dev token` and lists and creates keys as the sample policy's owner of demo", async () => {
    const commands = await documentedCommands("docs/admin-api.md", "**Locally**");
    expect(commands).toContain("source .palisade/local.env");
    const script = `set -euo pipefail\n${commands.replace("source .palisade/local.env", `source ${quote(envFile)}`)}`;
    const shellEnvironment = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? directory, npm_config_cache: process.env.npm_config_cache ?? "" };
    const { stdout } = await run("bash", ["-c", script], { cwd: ROOT, env: shellEnvironment, timeout: 120_000 });
    // curl prints each answer without a newline: split between top-level objects (`}{` never occurs inside JSON).
    const [projects, created] = stdout.trim().replace(/\}\s*\{/g, "}\n{").split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(projects).toMatchObject({ object: "list", data: expect.arrayContaining([expect.objectContaining({ id: "demo", role: "owner" })]) });
    expect(created).toMatchObject({ object: "api_key.created", record: { project: "demo", serviceAccount: "demo-app" } });
    expect(String(created?.apiKey)).toMatch(/^pal_/);
  }, 180_000);
});
