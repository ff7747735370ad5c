import { describe, expect, it } from "vitest";
import { FIELD, operationField, operationFieldsOf, projectPeriodKey, withOperationFields } from "../../../src/core/limits/counterKeys.js";
import { CounterUsageReader } from "../../../src/core/limits/UsageReader.js";
import { type OperationKind } from "../../../src/core/policy/operationsPolicy.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";

const DAY = { day: "2026-03-10", month: "2026-03" };

/** What one settlement adds to the project's day and month rows, as a settlement with an operation writes it. */
async function settle(store: InMemoryUsageCounterStore, operation: OperationKind | null, figures: { usdMicros: number; input: number; output: number; cached?: number }) {
  const measures = { [FIELD.usd]: figures.usdMicros, [FIELD.requests]: 1, [FIELD.inputTokens]: figures.input, [FIELD.cachedInputTokens]: figures.cached ?? 0, [FIELD.outputTokens]: figures.output };
  const add = operation === null ? measures : withOperationFields(operation, measures);
  await store.apply("proj", [
    { key: projectPeriodKey("day", DAY), add },
    { key: projectPeriodKey("month", DAY), add },
  ]);
}

describe("usage by operation", () => {
  it("names each measure once per operation, and reads them back by operation", () => {
    expect(operationField("embeddings", FIELD.usd)).toBe("op_embeddings_usd");
    const fields = withOperationFields("responses", { [FIELD.requests]: 1, [FIELD.usd]: 30 });
    expect(fields).toEqual({ requests: 1, usd: 30, op_responses_requests: 1, op_responses_usd: 30 });
    expect([...operationFieldsOf({ ...fields, reserved: 4, usdReserved: 9 })]).toEqual([["responses", { requests: 1, usd: 30 }]]);
  });

  it("reports spend, tokens and requests by operation beside the project's totals, from the one project row", async () => {
    const store = new InMemoryUsageCounterStore();
    await settle(store, "chat", { usdMicros: 3000, input: 1000, output: 100, cached: 400 });
    await settle(store, "chat", { usdMicros: 750, input: 1000, output: 1000 });
    await settle(store, "embeddings", { usdMicros: 20, input: 1000, output: 0 });
    await settle(store, "responses", { usdMicros: 1200, input: 300, output: 200 });
    const reader = new CounterUsageReader(store);
    const report = await reader.getUsage({ project: "proj", period: "day", date: "2026-03-10" });
    expect(report.total).toMatchObject({ requests: 4, inputTokens: 3300, outputTokens: 1300, costUsd: 0.00497 });
    expect(report.byOperation).toEqual([
      { name: "chat", requests: 2, inputTokens: 2000, cachedInputTokens: 400, outputTokens: 1100, costUsd: 0.00375, unpricedRequests: 0 },
      { name: "responses", requests: 1, inputTokens: 300, cachedInputTokens: 0, outputTokens: 200, costUsd: 0.0012, unpricedRequests: 0 },
      { name: "embeddings", requests: 1, inputTokens: 1000, cachedInputTokens: 0, outputTokens: 0, costUsd: 0.00002, unpricedRequests: 0 },
    ]);
    expect((await reader.getUsage({ project: "proj", period: "month", date: "2026-03" })).byOperation.map((line) => [line.name, line.requests])).toEqual([
      ["chat", 2],
      ["responses", 1],
      ["embeddings", 1],
    ]);
  });

  it("puts usage settled without an operation (before operations were counted) in the total only", async () => {
    const store = new InMemoryUsageCounterStore();
    await settle(store, null, { usdMicros: 500, input: 10, output: 10 });
    await settle(store, "embeddings", { usdMicros: 20, input: 1000, output: 0 });
    const report = await new CounterUsageReader(store).getUsage({ project: "proj", period: "day", date: "2026-03-10" });
    expect(report.total.requests).toBe(2);
    expect(report.byOperation.map((line) => [line.name, line.requests])).toEqual([["embeddings", 1]]);
  });
});
