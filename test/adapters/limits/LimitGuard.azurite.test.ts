import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { TableUsageCounterStore } from "../../../src/adapters/tables/TableUsageCounterStore.js";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { FIELD, projectPeriodKey } from "../../../src/core/limits/counterKeys.js";
import { LimitGuard, type ReserveInput } from "../../../src/core/limits/LimitGuard.js";
import { windowsAt } from "../../../src/core/limits/windows.js";
import { silentLogger } from "../../../src/core/logger.js";
import { type Policy } from "../../../src/core/policy/schema.js";
import { priceUsageMicros } from "../../../src/core/pricing/priceUsage.js";
import { limitsPolicy, projectOf } from "../../core/limits/policyFixture.js";

/** Separate TableClients and guards = separate app instances sharing one Azurite table. */

let azurite: RunningAzurite;
let tables = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

const NOW = Date.UTC(2026, 4, 20, 9, 30, 5);

async function instances(policy: Policy, count: number): Promise<{ guards: LimitGuard[]; stores: TableUsageCounterStore[] }> {
  const table = `GuardCounters${++tables}`;
  const stores = Array.from(
    { length: count },
    () => new TableUsageCounterStore(TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true })),
  );
  await stores[0]?.createTable();
  const guards = stores.map((store) => new LimitGuard({ store, clock: new ManualClock(NOW), policy, logger: silentLogger }));
  return { guards, stores };
}

const codeOf = (error: unknown): string => (isPalisadeError(error) ? error.code : `unexpected: ${String(error)}`);

describe("LimitGuard on Azurite across instances", () => {
  it("admits exactly 100 of 300 concurrent requests at 100 requests per minute, from 4 instances", async () => {
    const policy = limitsPolicy({ limits: { requestsPerMinute: 100 } });
    const { guards } = await instances(policy, 4);
    const input: ReserveInput = {
      project: projectOf(policy),
      serviceAccount: null,
      keyId: "k",
      model: "gpt-4o",
      deployment: "gpt4o-eu",
      estimatedPromptTokens: 10,
      maxOutputTokens: 10,
    };
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, index) =>
        guards[index % guards.length]!.reserve(input).then(
          (reservation) => ({ ok: true, remaining: Number(reservation.headers["x-ratelimit-remaining-requests"]) }),
          (error: unknown) => ({ ok: false, code: codeOf(error) }),
        ),
      ),
    );
    const accepted = outcomes.filter((outcome) => outcome.ok);
    expect(accepted).toHaveLength(100);
    expect(new Set(outcomes.filter((outcome) => !outcome.ok).map((outcome) => ("code" in outcome ? outcome.code : "")))).toEqual(new Set(["rate_limit_exceeded"]));
    // Each admitted request saw a distinct remaining count: 99, 98, ..., 0.
    expect(new Set(accepted.map((outcome) => ("remaining" in outcome ? outcome.remaining : -1))).size).toBe(100);
  });

  it("never lets spend plus held reservations pass the budget, and settles to the real figure", async () => {
    // $0.05 a day. Each request holds 500 in + 400 out at $2.50/$10 per 1M = $0.00525, and really
    // costs less (actual output below max_tokens): about 9 can be held at once, more settle in total.
    const policy = limitsPolicy({ budget: { dailyUsd: 0.05 } });
    const budgetMicros = 50_000;
    const { guards, stores } = await instances(policy, 4);
    const dayKey = projectPeriodKey("day", windowsAt(NOW));
    const price = policy.pricing["gpt4o-eu"]!;

    let sampling = true;
    let samples = 0;
    let worst = 0;
    const sampler = (async () => {
      while (sampling) {
        for await (const row of stores[0]!.list("proj", dayKey)) {
          if (row.key !== dayKey) continue;
          samples++;
          worst = Math.max(worst, (row.values[FIELD.usd] ?? 0) + (row.values[FIELD.usdReserved] ?? 0));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    let settledMicros = 0;
    const refusals: string[] = [];
    let calls = 0;
    // 16 callers on 4 instances, each calling until the budget refuses it.
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        const guard = guards[worker % guards.length]!;
        for (let round = 0; round < 40; round++) {
          const index = calls++;
          let reservation;
          try {
            reservation = await guard.reserve({
              project: projectOf(policy),
              serviceAccount: null,
              keyId: `key-${worker % 3}`,
              model: "gpt-4o",
              deployment: "gpt4o-eu",
              estimatedPromptTokens: 500,
              maxOutputTokens: 400,
            });
          } catch (error) {
            refusals.push(codeOf(error));
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, index % 7));
          if (index % 5 === 0) {
            await guard.release(reservation); // the upstream call failed
            continue;
          }
          const usage = { inputTokens: 480 + (index % 20), outputTokens: 50 + (index % 300) };
          const result = await guard.settle(reservation, usage);
          expect(result.recorded).toBe(true);
          settledMicros += priceUsageMicros(price, usage);
        }
      }),
    );
    sampling = false;
    await sampler;

    const finalRows = [];
    for await (const row of stores[1]!.list("proj", dayKey)) if (row.key === dayKey) finalRows.push(row.values);
    const final = finalRows[0]!;
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set(["budget_exceeded"]));
    expect(final[FIELD.usdReserved]).toBe(0);
    expect(final[FIELD.usd]).toBe(settledMicros);
    expect(final[FIELD.usd]).toBeLessThanOrEqual(budgetMicros);
    expect(samples).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(budgetMicros);
    // The budget was really used, not refused early: more than half of it is settled spend.
    expect(settledMicros).toBeGreaterThan(budgetMicros / 2);
  });
});
