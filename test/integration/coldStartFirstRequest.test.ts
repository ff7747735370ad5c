import { TableClient, TableServiceClient } from "@azure/data-tables";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";
import { TableAuditLedger } from "../../src/adapters/tables/TableAuditLedger.js";
import { AUDIT_LOG_TABLE } from "../../src/adapters/tables/audit/auditEntities.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { TABLES } from "../../src/composition/storage.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type RunningHostProcesses, ensureBuilt, startHostProcesses } from "../support/hostProcesses.js";

/**
 * Issue 22, cold start: a cold instance defers what its first request does not need (the Service Bus
 * receivers, the policy-change trail, checkpoint signing) and opens its audit link while it starts.
 * The first request, sent the moment the instance listens, must still be governed in full: limits on
 * tables that did not exist before, and its fail-closed audit events durable (appended) — or, with the
 * broker away, no answer at all — and refused, like any other, when its project's budget cannot pay for it.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let directory = "";
let stack: LocalStack | undefined;
let mock: RunningMockOpenAi | undefined;
let cli: CliServices | undefined;
let environment: Record<string, string> = {};
let apiKey = "";
/** A key of the project whose daily budget is smaller than one request's cost. */
let brokeApiKey = "";
const running: RunningHostProcesses[] = [];

function policy(upstreamUrl: string): PolicyInput {
  return {
    version: 1,
    projects: [
      {
        id: "cold",
        residency: "eu",
        models: [{ name: "gpt-4o-mini", deployment: "cold-mini" }],
        defaultClassification: "internal",
        maxTokens: 256,
        limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 },
        budget: { dailyUsd: 100 },
        auditOnPublishFailure: "fail_closed",
      },
      {
        id: "broke",
        residency: "eu",
        models: [{ name: "gpt-4o-mini", deployment: "cold-mini" }],
        defaultClassification: "internal",
        maxTokens: 256,
        // Far less than one request with 256 tokens of answer costs.
        budget: { dailyUsd: 0.000001 },
        auditOnPublishFailure: "fail_closed",
      },
    ],
    serviceAccounts: [
      { id: "cold-app", project: "cold", permissions: ["chat.completions"] },
      { id: "broke-app", project: "broke", permissions: ["chat.completions"] },
    ],
    endpoints: [{ id: "upstream", provider: "azure", baseUrl: upstreamUrl, region: "westeurope", residency: "eu", class: "standard", deployments: ["cold-mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 30_000 }],
    pricing: { "cold-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } },
  };
}

function chat(url: string, key = apiKey): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello from a cold start" }] }),
    signal: AbortSignal.timeout(60_000),
  });
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-cold-"));
  const [, started] = await Promise.all([ensureBuilt(), startLocalStack({ stateDirectory: directory })]);
  stack = started;
  mock = await startMockOpenAi({ name: "upstream", region: "westeurope" });
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(policy(mock.url)));
  environment = { ...stack.environment, PALISADE_POLICY: policyPath };
  cli = new CliServices(environment);
  const keys = await cli.apiKeyService();
  apiKey = (await keys.create({ project: "cold", serviceAccount: "cold-app", expiresInMs: 3_600_000 })).apiKey;
  brokeApiKey = (await keys.create({ project: "broke", serviceAccount: "broke-app", expiresInMs: 3_600_000 })).apiKey;
}, 150_000);

afterAll(async () => {
  for (const hosts of running) await hosts.stop();
  await cli?.close().catch(() => undefined);
  await mock?.stop();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 60_000);

describe("a cold instance's first request", () => {
  it("is governed in full on a fresh stack: its tables are created and its audit events appended", async () => {
    if (!stack) throw new Error("no stack");
    const connectionString = stack.environment.AZURE_STORAGE_CONNECTION_STRING ?? "";
    const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
    const tableNames = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const table of service.listTables()) if (table.name) names.push(table.name);
      return names;
    };
    // No instance has run on this stack: the counter and cache tables do not exist yet.
    expect(await tableNames()).not.toContain(TABLES.usage);

    // Serves, appends (receivers deferred) and runs its timers, as the side-by-side harness starts it.
    const hosts = await startHostProcesses({ count: 1, environment, args: [], readyTimeoutInMs: 90_000 });
    running.push(hosts);
    const url = hosts.urls[0] ?? "";
    const response = await chat(url);
    expect(response.status).toBe(200);
    // The limits ran for it as for any request: the project's windows, read from the shared counters.
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("1000");
    expect(Number(response.headers.get("x-ratelimit-remaining-requests"))).toBeLessThan(1000);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    expect(mock?.requests().filter((request) => request.path.endsWith("/chat/completions"))).toHaveLength(1);

    // The limits ran on tables the instance created.
    expect(await tableNames()).toEqual(expect.arrayContaining([TABLES.usage, TABLES.responseCache]));
    // Both events of the request (admission, outcome) reach the chain through the deferred receivers.
    const ledger = new TableAuditLedger(TableClient.fromConnectionString(connectionString, AUDIT_LOG_TABLE, { allowInsecureConnection: true }), { dedupeLookup: "orQuery" });
    let size = 0;
    for (const startedAt = Date.now(); Date.now() - startedAt < 30_000; await sleep(200)) {
      size = (await ledger.getHead("cold").catch(() => null))?.size ?? 0;
      if (size >= 2) break;
    }
    expect(size).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it("is refused when its project's budget cannot pay for it, as any later request would be", async () => {
    if (!mock) throw new Error("no stack");
    const upstreamCallsBefore = mock.requests().length;
    const hosts = await startHostProcesses({ count: 1, environment, args: ["--no-timers"], readyTimeoutInMs: 90_000 });
    running.push(hosts);
    const response = await chat(hosts.urls[0] ?? "", brokeApiKey);
    expect(response.status).toBe(429);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("budget_exceeded");
    expect(mock.requests().length).toBe(upstreamCallsBefore);
  }, 180_000);

  it("is refused, never answered unaudited, when the broker is away as the instance starts (fail_closed)", async () => {
    if (!stack || !mock) throw new Error("no stack");
    await stack.serviceBus.stop();
    const hosts = await startHostProcesses({ count: 1, environment, args: ["--no-timers"], readyTimeoutInMs: 90_000 });
    running.push(hosts);
    const response = await chat(hosts.urls[0] ?? "");
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toMatch(/audit/);
  }, 180_000);
});
