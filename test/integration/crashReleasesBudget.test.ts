import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { TableUsageCounterStore } from "../../src/adapters/tables/TableUsageCounterStore.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { TABLES } from "../../src/composition/storage.js";
import { CounterUsageReader, type UsageReport } from "../../src/core/limits/UsageReader.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { ROOT, type RunningHostProcesses, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";

/**
 * Issue 18 item 3: "a crash locks budget until midnight". Two instances of the compiled app share
 * one local stack; one is killed (SIGKILL) with requests in flight. What it held (reservations in
 * flight and its budget lease) must come back within the hold expiry plus one sweep of the
 * surviving instance, and `palisade usage` must show who holds what until when. Short, configurable
 * expiries keep it quick: PALISADE_LIMITS_HOLD_EXPIRY_IN_MS = 10 s here (60 s by default).
 */

const run = promisify(execFile);
const HOLD_EXPIRY_IN_MS = 10_000;
/** Expiry + one sweep (a third of the expiry) + the survivor's flush tick, with room for a loaded machine. */
const BOUND_IN_MS = 45_000;
const IN_FLIGHT = 6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let directory = "";
let stack: LocalStack | undefined;
let cli: CliServices | undefined;
let mock: RunningMockOpenAi | undefined;
let hosts: RunningHostProcesses | undefined;
let environment: Record<string, string> = {};
let apiKey = "";

function policy(upstreamUrl: string): PolicyInput {
  return {
    version: 1,
    projects: [{ id: "spend", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "spend-mini" }], defaultClassification: "internal", maxTokens: 1_000, budget: { dailyUsd: 5 } }],
    serviceAccounts: [{ id: "spend-app", project: "spend", permissions: ["chat.completions", "models.list"] }],
    endpoints: [
      { id: "upstream", provider: "azure", baseUrl: upstreamUrl, region: "westeurope", residency: "eu", class: "standard", deployments: ["spend-mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 60_000 },
    ],
    pricing: { "spend-mini": { inputPer1M: 10, outputPer1M: 40 } },
    routing: { maxAttempts: 1, totalDeadlineInMs: 60_000, breaker: { consecutiveFailures: 10_000, cooldownInMs: 1_000 } },
  };
}

async function usage(): Promise<UsageReport> {
  if (!cli) throw new Error("no CLI services");
  const reader = new CounterUsageReader(new TableUsageCounterStore(cli.storage().table(TABLES.usage)));
  return reader.getUsage({ project: "spend", period: "day", date: new Date().toISOString().slice(0, 10), asOfInMs: Date.now() });
}

/** `palisade usage` as an operator runs it, in a shell with the stack's settings. */
async function palisadeUsage(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, "bin", "palisade.js"), "usage", "--project", "spend", ...args], { cwd: ROOT, env: { ...process.env, ...environment }, timeout: 60_000 });
  return stdout;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-crash-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  mock = await startMockOpenAi({ name: "upstream", region: "westeurope" });
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(policy(mock.url)));
  environment = { ...stack.environment, PALISADE_POLICY: policyPath, PALISADE_LIMITS_HOLD_EXPIRY_IN_MS: String(HOLD_EXPIRY_IN_MS), PALISADE_LIMITS_SETTLE_EVERY_IN_MS: "500" };
  cli = new CliServices(environment);
  apiKey = (await (await cli.apiKeyService()).create({ project: "spend", serviceAccount: "spend-app", expiresInMs: 3_600_000 })).apiKey;
  hosts = await startHostProcesses({ count: 2, environment, args: ["--no-timers"], stopTimeoutInMs: 3_000, readyTimeoutInMs: 90_000 });
  for (const url of hosts.urls) {
    const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(30_000) });
    expect(response.status).toBe(200);
  }
}, 150_000);

afterAll(async () => {
  await hosts?.stop();
  await cli?.close().catch(() => undefined);
  await mock?.stop();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("a crashed instance's budget comes back within the hold expiry", () => {
  it("gives back what an instance killed with requests in flight held, and `palisade usage` shows it held, then back", async () => {
    const [doomed, survivor] = hosts?.instances ?? [];
    if (!doomed || !survivor) throw new Error("two instances were not started");
    // Requests that stay in flight: the upstream answers after a minute.
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, index) =>
      fetch(`${doomed.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `slow request ${index} [[mock:latency=60000]]` }] }),
        signal: AbortSignal.timeout(90_000),
      }).then(
        (response) => response.status,
        () => "cut off",
      ),
    );
    let held: UsageReport | undefined;
    for (const startedAt = Date.now(); Date.now() - startedAt < 30_000; await sleep(200)) {
      held = await usage();
      if (held.reservedUsd >= IN_FLIGHT * 0.04) break;
    }
    // Each request reserves ~$0.04 (1,000 output tokens at $40/1M): at least 6 of them are held by the doomed instance.
    expect(held?.reservedUsd ?? 0).toBeGreaterThanOrEqual(IN_FLIGHT * 0.04);
    expect(held?.holds).toHaveLength(1);
    expect(held?.holds[0]?.expired).toBe(false);
    const owner = held?.holds[0]?.owner ?? "";
    expect(owner).toMatch(new RegExp(`^${doomed.pid}-`));

    // While the requests are in flight the operator sees who holds what, until when (renewed while it lives).
    const during = await palisadeUsage();
    expect(during).toMatch(new RegExp(`Held by instance:\\n  ${owner}: \\$0\\.\\d+, held until \\d{4}-\\d\\d-\\d\\dT`));

    process.kill(doomed.pid, "SIGKILL");
    const killedAt = Date.now();
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: IN_FLIGHT }, () => "cut off"));

    let back: UsageReport | undefined;
    while (Date.now() - killedAt < BOUND_IN_MS) {
      back = await usage();
      if (back.reservedUsd === 0) break;
      await sleep(250);
    }
    const reclaimedInMs = Date.now() - killedAt;
    process.stderr.write(`crashReleasesBudget: held $${held?.reservedUsd ?? 0} back ${reclaimedInMs} ms after SIGKILL (hold expiry ${HOLD_EXPIRY_IN_MS} ms)\n`);
    expect(back?.reservedUsd).toBe(0);
    expect(back?.holds).toEqual([]);
    expect(reclaimedInMs).toBeLessThan(BOUND_IN_MS);

    const after = JSON.parse(await palisadeUsage("--json")) as UsageReport;
    expect(after.reservedUsd).toBe(0);
    expect(after.holds).toEqual([]);
    expect(await palisadeUsage()).toContain("Held by unsettled reservations: $0.000000\n");

    // The survivor serves the project with the whole budget again.
    const response = await fetch(`${survivor.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "after the crash" }] }),
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(200);
  }, 300_000);
});
