import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UsageReport } from "../../src/core/limits/UsageReader.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { ROOT, ensureBuilt } from "../support/hostProcesses.js";

/**
 * Issue 17: usage reports by operation. Real clients send chat, embeddings and Responses requests
 * to the app on the local stack; `palisade usage --json`, run as an operator runs it, splits the
 * project's day by operation, and the parts add up to the total.
 */

const run = promisify(execFile);
const UPSTREAMS = { upstream: { name: "usage-upstream", region: "westeurope" } } as const;

function policy(urls: Readonly<Record<keyof typeof UPSTREAMS, string>>): PolicyInput {
  return {
    version: 1,
    projects: [
      {
        id: "spend",
        residency: "eu",
        models: [
          { name: "gpt-4o-mini", deployment: "gpt-4o-mini" },
          { name: "text-embedding-3-small", deployment: "text-embedding-3-small" },
        ],
        maxTokens: 256,
        budget: { dailyUsd: 50 },
      },
    ],
    serviceAccounts: [{ id: "spend-app", project: "spend", permissions: ["chat.completions", "embeddings.create", "responses.create", "models.list"] }],
    endpoints: [
      {
        id: "upstream",
        provider: "azure",
        baseUrl: urls.upstream,
        region: "westeurope",
        residency: "eu",
        class: "standard",
        deployments: ["gpt-4o-mini", "text-embedding-3-small"],
        operations: ["chat", "embeddings", "responses"],
        auth: { kind: "none" },
        timeoutInMs: 10_000,
      },
    ],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 }, "text-embedding-3-small": { embeddingsPer1M: 0.02 } },
  };
}

let gateway: GatewayStack<keyof typeof UPSTREAMS>;
let apiKey = "";

/** `palisade usage` as an operator runs it, in a shell with the stack's settings. */
async function palisadeUsage(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, "bin", "palisade.js"), "usage", "--project", "spend", ...args], { cwd: ROOT, env: { ...process.env }, timeout: 60_000 });
  return stdout;
}

beforeAll(async () => {
  const [, started] = await Promise.all([ensureBuilt(), startGatewayStack({ upstreams: UPSTREAMS, policy })]);
  gateway = started;
  apiKey = await gateway.createKey("spend", "spend-app");
}, 240_000);

afterAll(async () => {
  await gateway?.stop();
}, 60_000);

describe("usage by operation", () => {
  it("palisade usage --json splits the day's requests, tokens and spend into chat, embeddings and responses", async () => {
    const openai = new OpenAI({ baseURL: gateway.baseUrl, apiKey });
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Summarise our refund policy." }], max_tokens: 50 });
    await new AzureOpenAI({ endpoint: gateway.host.url, apiKey, deployment: "gpt-4o-mini", apiVersion: "2024-10-21" }).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }], max_tokens: 50 });
    await openai.embeddings.create({ model: "text-embedding-3-small", input: ["refund policy", "shipping times"] });
    await openai.responses.create({ model: "gpt-4o-mini", input: "Summarise our refund policy.", max_output_tokens: 50 });

    // Settlements are written together (every second by default): wait for all four.
    let report: UsageReport | undefined;
    const deadline = Date.now() + 30_000;
    do {
      report = JSON.parse(await palisadeUsage("--json")) as UsageReport;
      if (report.total.requests >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } while (Date.now() < deadline);

    expect(report.total.requests).toBe(4);
    const byName = Object.fromEntries(report.byOperation.map((line) => [line.name, line]));
    expect(Object.keys(byName).sort()).toEqual(["chat", "embeddings", "responses"]);
    expect(byName.chat?.requests).toBe(2);
    expect(byName.embeddings).toMatchObject({ requests: 1, outputTokens: 0 });
    expect(byName.embeddings?.inputTokens).toBeGreaterThan(0);
    expect(byName.responses?.requests).toBe(1);
    for (const field of ["requests", "inputTokens", "outputTokens"] as const) {
      expect(report.byOperation.reduce((sum, line) => sum + line[field], 0), field).toBe(report.total[field]);
    }
    expect(report.byOperation.reduce((sum, line) => sum + line.costUsd, 0)).toBeCloseTo(report.total.costUsd, 9);

    const text = await palisadeUsage();
    expect(text).toMatch(/By operation:\n(?:.*\n){1,4}\s+embeddings\s+1\s/);
  }, 120_000);
});
