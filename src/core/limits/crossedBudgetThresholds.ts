import { microsToUsd, usdToMicros } from "../pricing/priceUsage.js";
import { type BudgetWarning } from "./BudgetWarning.js";
import { FIELD } from "./counterKeys.js";
import { type ProjectSpend } from "./PendingBudgetSpend.js";
import { type CounterValues, sumFields } from "./UsageCounterStore.js";

/** The budget thresholds a write of `spend` carried its counters across (the counters as written). */
export function crossedBudgetThresholds(spend: ProjectSpend, counters: Readonly<Record<string, CounterValues>>): BudgetWarning[] {
  const warnings: BudgetWarning[] = [];
  const { budget } = spend;
  for (const [key, { period, micros }] of spend.byKey) {
    const usd = period === "day" ? budget.dailyUsd : budget.monthlyUsd;
    const values = counters[key];
    if (usd === undefined || values === undefined) continue;
    const max = usdToMicros(usd);
    const after = sumFields(values, [FIELD.usd]);
    const before = after - micros;
    for (const fraction of [...new Set([budget.warnAtFraction, 1])]) {
      const threshold = fraction * max;
      if (before < threshold && after >= threshold) warnings.push({ period, fraction, spentUsd: microsToUsd(after), budgetUsd: usd });
    }
  }
  return warnings;
}
