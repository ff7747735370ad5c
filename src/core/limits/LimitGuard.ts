import { type Clock } from "../clock.js";
import { ensureError, PalisadeError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type ModelPrice, type Policy, type ProjectPolicy, type ServiceAccountPolicy } from "../policy/schema.js";
import { findPrice, microsToUsd, priceUsageMicros, type TokenUsage, usdToMicros } from "../pricing/priceUsage.js";
import {
  FIELD,
  projectPeriodKey,
  projectScope,
  requestsKey,
  type RollupPeriod,
  rollupKey,
  serviceAccountScope,
  tokensKey,
} from "./counterKeys.js";
import { rateLimitHeaders, type WindowUse } from "./rateLimitHeaders.js";
import { type CounterDelta, type CounterValues, sumFields, type UsageCounterStore } from "./UsageCounterStore.js";
import { msUntilNextDay, msUntilNextMinute, msUntilNextMonth, type Windows, windowsAt } from "./windows.js";

/**
 * Rate limits and budgets, exact across instances: reserve before the upstream call, settle with
 * the real usage after it, release when it fails.
 *
 * Every counter one request touches lives in its project's partition, so a reservation is ONE
 * atomic `apply` on the store: all counters move, or none does when any would go over. A request
 * is refused only against committed state, so N instances can never admit more than the limit.
 * See docs/limits.md.
 */

export interface LimitGuardDeps {
  readonly store: UsageCounterStore;
  readonly clock: Clock;
  readonly policy: Policy;
  readonly logger: Logger;
}

export interface ReserveInput {
  readonly project: ProjectPolicy;
  readonly serviceAccount: ServiceAccountPolicy | null;
  readonly keyId: string | null;
  /** The caller's model name. */
  readonly model: string;
  readonly deployment: string;
  /**
   * Prompt tokens, or how to count them: a function is called only when a tokens-per-minute limit or
   * a budget needs the figure, so projects without them never pay for tokenising the prompt.
   */
  readonly estimatedPromptTokens: number | (() => number);
  /** The caller's max_tokens, or the project's maxTokens when it sent none. */
  readonly maxOutputTokens: number;
}

export interface Reservation {
  readonly projectId: string;
  readonly keyId: string | null;
  readonly serviceAccountId: string | null;
  readonly model: string;
  readonly deployment: string;
  readonly windows: Windows;
  /** Tokens (prompt estimate + max output) and micro-dollars held for this request. */
  readonly reservedTokens: number;
  readonly reservedUsdMicros: number;
  /** False when the project has no limits and no budget: nothing is stored, nothing to settle. */
  readonly tracked: boolean;
  /** False when the store was unreachable and the project fails open: nothing was reserved. */
  readonly counted: boolean;
  /** x-ratelimit-* headers to send with the response (empty without per-minute limits). */
  readonly headers: Readonly<Record<string, string>>;
  /** The price used, null when the model has none. */
  readonly price: ModelPrice | null;
  /** The project's tags (rollups for chargeback) and budget, as they were at reserve time. */
  readonly tags: Readonly<Record<string, string>>;
  readonly budget: ProjectPolicy["budget"];
  /** What was added to the counters, taken back on settle and release. Plain data: a reservation can be copied. */
  readonly held: readonly CounterDelta[];
}

export interface BudgetWarning {
  readonly period: RollupPeriod;
  /** The threshold crossed (the policy's warnAtFraction, or 1 when the budget is spent). */
  readonly fraction: number;
  readonly spentUsd: number;
  readonly budgetUsd: number;
}

export interface SettleResult {
  readonly costUsd: number;
  /** False when no price is known for the model (cost counted as 0, refused for budgeted projects). */
  readonly priced: boolean;
  /** Budget thresholds this settlement crossed; exactly one request across all instances sees each. */
  readonly warnings: readonly BudgetWarning[];
  /** False when the usage could not be written (logged; the reservation stays held, the safe side). */
  readonly recorded: boolean;
}

/** At most this many tags get rollups, so one settlement stays within one store round (50 counters). */
export const MAX_ROLLUP_TAGS = 16;

function rollupTags(tags: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_ROLLUP_TAGS);
}

export class LimitGuard {
  /** Reservations already settled or released by this guard: settling twice must not count twice. */
  private readonly finished = new WeakSet<Reservation>();

  constructor(private readonly deps: LimitGuardDeps) {}

  async reserve(input: ReserveInput): Promise<Reservation> {
    const { project, serviceAccount } = input;
    const now = this.deps.clock.nowInMs();
    const windows = windowsAt(now);
    const price = findPrice(this.deps.policy.pricing, input.deployment, input.model);
    const budget = project.budget;
    const budgeted = budget !== undefined && (budget.dailyUsd !== undefined || budget.monthlyUsd !== undefined);
    if (budgeted && price === null) {
      throw new PalisadeError(
        403,
        "permission_error",
        "model_not_priced",
        `Project "${project.id}" has a budget, and deployment "${input.deployment}" (model "${input.model}") has no price in the policy, so its cost cannot be counted. Add it to policy.pricing or use a priced model.`,
        { param: "model" },
      );
    }

    const countsTokens = budgeted || [project.limits, serviceAccount?.limits].some((limits) => limits?.tokensPerMinute !== undefined);
    const estimate = input.estimatedPromptTokens;
    const promptTokens = !countsTokens ? 0 : typeof estimate === "function" ? estimate() : estimate;
    const reservedTokens = Math.max(0, Math.ceil(promptTokens)) + Math.max(0, Math.ceil(input.maxOutputTokens));
    const reservedUsdMicros = price === null ? 0 : priceUsageMicros(price, { inputTokens: promptTokens, outputTokens: input.maxOutputTokens });
    const limited = this.limitedDeltas(input, windows, reservedTokens, reservedUsdMicros);
    const tracked = limited.length > 0 || budgeted;
    const base = {
      projectId: project.id,
      keyId: input.keyId,
      serviceAccountId: serviceAccount?.id ?? null,
      model: input.model,
      deployment: input.deployment,
      windows,
      reservedTokens,
      reservedUsdMicros,
      tracked,
      price,
      tags: project.tags,
      budget,
    };

    if (!tracked) return { ...base, counted: false, headers: {}, held: [] };

    let result;
    try {
      result = await this.deps.store.apply(project.id, limited);
    } catch (error) {
      const failClosed = budgeted && budget.failClosed;
      this.deps.logger.warn("limits store unavailable", { project: project.id, failClosed, error: ensureError(error).name });
      if (failClosed) {
        throw new PalisadeError(
          503,
          "service_unavailable_error",
          "limits_unavailable",
          `Usage limits for project "${project.id}" cannot be checked right now, and its budget is set to fail closed. Retry shortly; if it persists, check the counter store.`,
          { headers: { "retry-after": "1" }, cause: error },
        );
      }
      return { ...base, counted: false, headers: {}, held: [] };
    }

    const headers = this.headersFor(input, windows, result.counters, now);
    if (!result.applied) throw this.refusal(input, windows, result.refused, result.counters, headers, now, reservedTokens);
    return { ...base, counted: true, headers, held: limited.map(({ key, add }) => ({ key, add })) };
  }

  async settle(reservation: Reservation, usage: TokenUsage): Promise<SettleResult> {
    const price = reservation.price;
    const costMicros = price === null ? 0 : priceUsageMicros(price, usage);
    const outcome = { costUsd: microsToUsd(costMicros), priced: price !== null };
    if (!reservation.tracked) return { ...outcome, warnings: [], recorded: true };
    if (this.finished.has(reservation)) return { ...outcome, warnings: [], recorded: false };
    this.finished.add(reservation);

    const deltas: CounterDelta[] = [...this.negate(reservation.held, [FIELD.requests])];
    const totalTokens = Math.max(0, usage.inputTokens) + Math.max(0, usage.outputTokens);
    if (totalTokens > 0) {
      for (const delta of reservation.held) {
        if (delta.key.includes("|tok|")) deltas.push({ key: delta.key, add: { [FIELD.settled]: totalTokens } });
      }
    }
    const measures: Record<string, number> = {
      [FIELD.usd]: costMicros,
      [FIELD.requests]: 1,
      [FIELD.inputTokens]: Math.max(0, usage.inputTokens),
      [FIELD.cachedInputTokens]: Math.max(0, usage.cachedInputTokens ?? 0),
      [FIELD.outputTokens]: Math.max(0, usage.outputTokens),
    };
    if (price === null) measures[FIELD.unpricedRequests] = 1;
    const keyName = reservation.keyId ?? (reservation.serviceAccountId === null ? "(none)" : `sa:${reservation.serviceAccountId}`);
    for (const period of ["day", "month"] as const) {
      deltas.push({ key: projectPeriodKey(period, reservation.windows), add: measures });
      deltas.push({ key: rollupKey(period, reservation.windows, "key", keyName), add: measures });
      deltas.push({ key: rollupKey(period, reservation.windows, "model", reservation.model), add: measures });
      for (const [tag, value] of rollupTags(reservation.tags)) deltas.push({ key: rollupKey(period, reservation.windows, "tag", `${tag}=${value}`), add: measures });
    }

    let result;
    try {
      result = await this.deps.store.apply(reservation.projectId, deltas);
    } catch (error) {
      this.deps.logger.error("usage settlement not recorded", { project: reservation.projectId, error: ensureError(error).name });
      return { ...outcome, warnings: [], recorded: false };
    }
    const warnings = this.crossed(reservation, result.counters, costMicros);
    for (const warning of warnings) {
      this.deps.logger.warn("budget threshold crossed", { project: reservation.projectId, period: warning.period, fraction: warning.fraction });
    }
    return { ...outcome, warnings, recorded: true };
  }

  /** Gives back everything reserved (the request slot too): the call failed before any usage. */
  async release(reservation: Reservation): Promise<void> {
    if (!reservation.counted || this.finished.has(reservation)) return;
    this.finished.add(reservation);
    try {
      await this.deps.store.apply(reservation.projectId, this.negate(reservation.held, []));
    } catch (error) {
      this.deps.logger.error("reservation not released", { project: reservation.projectId, error: ensureError(error).name });
    }
  }

  private negate(applied: readonly CounterDelta[], keepFields: readonly string[]): CounterDelta[] {
    const out: CounterDelta[] = [];
    for (const delta of applied) {
      const add: Record<string, number> = {};
      for (const [field, amount] of Object.entries(delta.add)) if (!keepFields.includes(field) && amount !== 0) add[field] = -amount;
      if (Object.keys(add).length > 0) out.push({ key: delta.key, add });
    }
    return out;
  }

  private limitedDeltas(input: ReserveInput, windows: Windows, tokens: number, usdMicros: number): CounterDelta[] {
    const deltas: CounterDelta[] = [];
    const scopes: [string, ProjectPolicy["limits"]][] = [[projectScope, input.project.limits]];
    if (input.serviceAccount !== null) scopes.push([serviceAccountScope(input.serviceAccount.id), input.serviceAccount.limits]);
    for (const [scope, limits] of scopes) {
      if (limits.requestsPerMinute !== undefined) {
        deltas.push({ key: requestsKey(windows.minute, scope), add: { [FIELD.requests]: 1 }, limit: { fields: [FIELD.requests], max: limits.requestsPerMinute } });
      }
      if (limits.tokensPerMinute !== undefined) {
        deltas.push({
          key: tokensKey(windows.minute, scope),
          add: { [FIELD.reserved]: tokens },
          limit: { fields: [FIELD.reserved, FIELD.settled], max: limits.tokensPerMinute },
        });
      }
    }
    const budget = input.project.budget;
    for (const [period, usd] of [["day", budget?.dailyUsd], ["month", budget?.monthlyUsd]] as const) {
      if (usd === undefined) continue;
      deltas.push({
        key: projectPeriodKey(period, windows),
        add: { [FIELD.usdReserved]: usdMicros },
        limit: { fields: [FIELD.usdReserved, FIELD.usd], max: usdToMicros(usd) },
      });
    }
    return deltas;
  }

  private windowUses(input: ReserveInput, windows: Windows, counters: Readonly<Record<string, CounterValues>>): { requests: WindowUse[]; tokens: WindowUse[] } {
    const requests: WindowUse[] = [];
    const tokens: WindowUse[] = [];
    const scopes: [string, ProjectPolicy["limits"]][] = [[projectScope, input.project.limits]];
    if (input.serviceAccount !== null) scopes.push([serviceAccountScope(input.serviceAccount.id), input.serviceAccount.limits]);
    for (const [scope, limits] of scopes) {
      if (limits.requestsPerMinute !== undefined) {
        requests.push({ limit: limits.requestsPerMinute, used: sumFields(counters[requestsKey(windows.minute, scope)], [FIELD.requests]) });
      }
      if (limits.tokensPerMinute !== undefined) {
        tokens.push({ limit: limits.tokensPerMinute, used: sumFields(counters[tokensKey(windows.minute, scope)], [FIELD.reserved, FIELD.settled]) });
      }
    }
    return { requests, tokens };
  }

  private headersFor(input: ReserveInput, windows: Windows, counters: Readonly<Record<string, CounterValues>>, now: number): Record<string, string> {
    const { requests, tokens } = this.windowUses(input, windows, counters);
    return rateLimitHeaders(requests, tokens, msUntilNextMinute(now));
  }

  private refusal(
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

  private crossed(reservation: Reservation, counters: Readonly<Record<string, CounterValues>>, costMicros: number): BudgetWarning[] {
    const warnings: BudgetWarning[] = [];
    const budget = reservation.budget;
    if (budget === undefined || costMicros <= 0) return warnings;
    for (const [period, usd] of [["day", budget.dailyUsd], ["month", budget.monthlyUsd]] as const) {
      if (usd === undefined) continue;
      const max = usdToMicros(usd);
      const after = sumFields(counters[projectPeriodKey(period, reservation.windows)], [FIELD.usd]);
      const before = after - costMicros;
      for (const fraction of [...new Set([budget.warnAtFraction, 1])]) {
        const threshold = fraction * max;
        if (before < threshold && after >= threshold) warnings.push({ period, fraction, spentUsd: microsToUsd(after), budgetUsd: usd });
      }
    }
    return warnings;
  }
}
