import { Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createUsageCommand } from "../../src/cli/commands/usage.js";
import { ManualClock } from "../../src/core/clock.js";
import { FIELD, projectPeriodKey, withOperationFields } from "../../src/core/limits/counterKeys.js";
import { LimitGuard } from "../../src/core/limits/LimitGuard.js";
import { CounterUsageReader, type UsageReader, type UsageReport } from "../../src/core/limits/UsageReader.js";
import { silentLogger } from "../../src/core/logger.js";
import { limitsPolicy, projectOf } from "../core/limits/policyFixture.js";
import { InMemoryUsageCounterStore } from "../fakes/InMemoryUsageCounterStore.js";

async function seededReader(): Promise<UsageReader> {
  const policy = limitsPolicy({ budget: { dailyUsd: 100 }, tags: { team: "search" } });
  const store = new InMemoryUsageCounterStore();
  const guard = new LimitGuard({ store, clock: new ManualClock(Date.UTC(2026, 6, 4, 10)), policy, logger: silentLogger });
  const base = { project: projectOf(policy), serviceAccount: null, model: "gpt-4o", deployment: "gpt4o-eu", estimatedPromptTokens: 1000, maxOutputTokens: 500 };
  await guard.settle(await guard.reserve({ ...base, keyId: "key-a" }), { inputTokens: 1000, outputTokens: 200 });
  await guard.settle(await guard.reserve({ ...base, keyId: "key-b" }), { inputTokens: 2000, cachedInputTokens: 1000, outputTokens: 100 });
  return new CounterUsageReader(store);
}

/** The project's day row as settlements with an operation write it: two chat requests and one embeddings request. */
async function readerByOperation(): Promise<UsageReader> {
  const store = new InMemoryUsageCounterStore();
  const windows = { day: "2026-07-04", month: "2026-07" };
  const settle = (operation: "chat" | "embeddings", usdMicros: number, inputTokens: number, outputTokens: number) =>
    store.apply("proj", [{ key: projectPeriodKey("day", windows), add: withOperationFields(operation, { [FIELD.usd]: usdMicros, [FIELD.requests]: 1, [FIELD.inputTokens]: inputTokens, [FIELD.outputTokens]: outputTokens }) }]);
  await settle("chat", 4500, 1000, 200);
  await settle("chat", 4750, 2000, 100);
  await settle("embeddings", 20, 1000, 0);
  return new CounterUsageReader(store);
}

async function run(args: string[], getUsageReader: () => Promise<UsageReader>) {
  let out = "";
  let err = "";
  const program = new Command("palisade").exitOverride();
  program.addCommand(
    createUsageCommand({ getUsageReader, stdout: { write: (text: string) => (out += text) }, stderr: { write: (text: string) => (err += text) }, nowInMs: () => Date.UTC(2026, 6, 4, 12) }).exitOverride(),
  );
  let error: unknown = null;
  try {
    await program.parseAsync(["usage", ...args], { from: "user" });
  } catch (caught) {
    error = caught;
  }
  return { out, err, error };
}

describe("palisade usage", () => {
  it("prints spend and tokens by key, model and tag for today by default", async () => {
    const { out, error } = await run(["--project", "proj"], seededReader);
    expect(error).toBeNull();
    expect(out).toContain("Usage of project proj, day 2026-07-04 (UTC)");
    // key-a: 1000 x 2.5 + 200 x 10 = $0.0045; key-b: 1000 x 2.5 + 1000 x 1.25 + 100 x 10 = $0.00475.
    expect(out).toContain("Total: 2 requests, 3000 input tokens (1000 cached), 300 output tokens, $0.009250");
    expect(out).toMatch(/key-b\s+1\s+2000\s+1000\s+100\s+\$0\.004750/);
    expect(out).toMatch(/key-a\s+1\s+1000\s+0\s+200\s+\$0\.004500/);
    expect(out).toMatch(/team=search\s+2\s+3000/);
    expect(out).toMatch(/gpt-4o\s+2/);
  });

  it("prints spend, tokens and requests by operation", async () => {
    const { out, error } = await run(["--project", "proj"], readerByOperation);
    expect(error).toBeNull();
    expect(out).toContain("Total: 3 requests, 4000 input tokens (0 cached), 300 output tokens, $0.009270");
    expect(out).toMatch(/By operation:\n\s+NAME\s+REQUESTS\s+INPUT\s+CACHED\s+OUTPUT\s+COST \(USD\)\n\s+chat\s+2\s+3000\s+0\s+300\s+\$0\.009250\n\s+embeddings\s+1\s+1000\s+0\s+0\s+\$0\.000020\n/);
    const json = JSON.parse((await run(["--project", "proj", "--json"], readerByOperation)).out) as UsageReport;
    expect(json.byOperation.map((line) => [line.name, line.requests, line.costUsd])).toEqual([
      ["chat", 2, 0.00925],
      ["embeddings", 1, 0.00002],
    ]);
  });

  it("prints JSON for a month", async () => {
    const { out, error } = await run(["--project", "proj", "--period", "month", "--json"], seededReader);
    expect(error).toBeNull();
    const report = JSON.parse(out) as UsageReport;
    expect(report.date).toBe("2026-07");
    expect(report.total.costUsd).toBe(0.00925);
    expect(report.byKey.map((line) => line.name)).toEqual(["key-b", "key-a"]);
  });

  it("rejects a date that does not fit the period without reading anything", async () => {
    let opened = 0;
    const { err, error } = await run(["--project", "proj", "--period", "month", "--date", "2026-07-04"], async () => {
      opened++;
      return seededReader();
    });
    expect(error).toBeInstanceOf(CommanderError);
    expect(err).toContain("must be YYYY-MM");
    expect(opened).toBe(0);
  });

  it("reports a store that cannot be read on stderr, with exit code 1", async () => {
    const { err, error } = await run(["--project", "proj"], async () => {
      throw new Error("connect ECONNREFUSED 127.0.0.1:10002");
    });
    expect((error as CommanderError).exitCode).toBe(1);
    expect(err).toContain("could not read usage");
  });

  it("requires --project and a known period", async () => {
    expect((await run([], seededReader)).error).toBeInstanceOf(CommanderError);
    expect((await run(["--project", "proj", "--period", "week"], seededReader)).err).toContain("week");
  });
});
