import { PalisadeError } from "../errors.js";
import { microsToUsd } from "../pricing/priceUsage.js";
import { FIELD, projectPeriodKey, projectScope, type RollupPeriod } from "./counterKeys.js";
import { type ReserveInput } from "./ReserveInput.js";
import { type CounterValues, sumFields } from "./UsageCounterStore.js";
import { msUntilNextDay, msUntilNextMinute, msUntilNextMonth, type Windows } from "./windows.js";

/**
 * The 429 for a refused admission: a spent budget (no retry before the next day or month), a
 * request larger than a whole minute's token limit (no retry at all), or a per-minute limit
 * reached (retry when the minute turns).
 */
export function limitRefusal(
  input: ReserveInput,
  windows: Windows,
  refused: readonly string[],
  counters: Readonly<Record<string, CounterValues>>,
  headers: Record<string, string>,
  now: number,
  reservedTokens: number,
): PalisadeError {
  const project = input.project;
  const monthKey = projectPeriodKey("month", windows);
  const dayKey = projectPeriodKey("day", windows);
  const budgetPeriod: RollupPeriod | null = refused.includes(monthKey) ? "month" : refused.includes(dayKey) ? "day" : null;
  if (budgetPeriod !== null) {
    const retryInMs = budgetPeriod === "month" ? msUntilNextMonth(now) : msUntilNextDay(now);
    const limitUsd = (budgetPeriod === "month" ? project.budget?.monthlyUsd : project.budget?.dailyUsd) ?? 0;
    const spent = microsToUsd(sumFields(counters[budgetPeriod === "month" ? monthKey : dayKey], [FIELD.usd, FIELD.usdReserved]));
    return new PalisadeError(
      429,
      "rate_limit_error",
      "budget_exceeded",
      `Project "${project.id}" has reached its ${budgetPeriod === "month" ? "monthly" : "daily"} budget of $${limitUsd} (spent or held: $${spent.toFixed(2)}). It resets at the start of the next UTC ${budgetPeriod}; ask the project owner to raise the budget.`,
      { headers: { ...headers, "retry-after": String(Math.ceil(retryInMs / 1000)), "x-should-retry": "false" }, param: budgetPeriod },
    );
  }
  // A request larger than a whole window's token limit can never pass: say so, and do not invite retries.
  const tokenMaxima = [project.limits.tokensPerMinute, input.serviceAccount?.limits.tokensPerMinute].filter((max): max is number => max !== undefined);
  const tooLarge = tokenMaxima.some((max) => reservedTokens > max);
  const retryInMs = msUntilNextMinute(now);
  const scope = refused.some((key) => key.endsWith(`|${projectScope}`)) ? `project "${project.id}"` : `service account "${input.serviceAccount?.id ?? ""}"`;
  const message = tooLarge
    ? `This request needs ${reservedTokens} tokens (prompt + max_tokens), more than the per-minute token limit of ${scope}. Lower max_tokens or shorten the prompt.`
    : `Rate limit of ${scope} reached for this minute (requests or tokens per minute). Retry after ${Math.ceil(retryInMs / 1000)} seconds.`;
  return new PalisadeError(429, "rate_limit_error", "rate_limit_exceeded", message, {
    headers: {
      ...headers,
      "retry-after": String(Math.ceil(retryInMs / 1000)),
      "retry-after-ms": String(retryInMs),
      ...(tooLarge ? { "x-should-retry": "false" } : {}),
    },
  });
}
