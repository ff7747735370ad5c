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
import { HoldKeeper } from "./HoldKeeper.js";
import { type CounterNeed, LocalAllowances, type ReturnedAllowance } from "./LocalAllowances.js";
import { PendingSettlements } from "./PendingSettlements.js";
import { type ApplyCountersResult, type CounterDelta, type CounterValues, MAX_COUNTERS_PER_APPLY, sumFields, touchedKeys, type UsageCounterStore } from "./UsageCounterStore.js";
import { msUntilNextDay, msUntilNextMinute, msUntilNextMonth, type Windows, windowsAt } from "./windows.js";

/**
 * Rate limits and budgets, exact across instances: reserve before the upstream call, settle with
 * the real usage after it, release when it fails.
 *
 * Every counter one request touches lives in its project's partition, so a reservation is ONE
 * atomic `apply` on the store: all counters move, or none does when any would go over. A request
 * is refused only against committed state, so N instances can never admit more than the limit.
 *
 * Two options trade store round trips for nothing that matters to a limit (docs/limits.md):
 * `leaseFraction` lets an instance commit a little more than a request needs (a lease) and admit
 * the next requests from it locally; `settleEveryInMs` merges settlements and writes them together.
 * Both default to off: every request commits and settles on its own.
 */

export interface LimitGuardDeps {
  readonly store: UsageCounterStore;
  readonly clock: Clock;
  readonly policy: Policy;
  readonly logger: Logger;
  /** Share of a limit one lease may add beyond a request's need (0: no leases). */
  readonly leaseFraction?: number;
  /** Settlements wait at most this long to be written together (0: each is written at once). */
  readonly settleEveryInMs?: number;
  /** This instance's name on the budget it holds (unique per process; default "instance"). */
  readonly owner?: string;
  /** Budget held by this instance is given back this long after it stops renewing (default 60 s). */
  readonly holdExpiryInMs?: number;
}

/** Default hold expiry: with renewal and sweeps every third of it, a dead instance's budget is back within 80 s. */
export const DEFAULT_HOLD_EXPIRY_IN_MS = 60_000;

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

export interface ProjectBudgetWarning extends BudgetWarning {
  readonly project: string;
}

export interface SettleResult {
  readonly costUsd: number;
  /** False when no price is known for the model (cost counted as 0, refused for budgeted projects). */
  readonly priced: boolean;
  /** Budget thresholds this settlement crossed; exactly one request across all instances sees each. */
  readonly warnings: readonly BudgetWarning[];
  /**
   * False when writing the usage failed (logged; it stays pending and is retried with the next
   * write, and the reservation stays held meanwhile: the safe side). True when written or queued.
   */
  readonly recorded: boolean;
}

/** At most this many tags get rollups, so one settlement stays within one store round (50 counters). */
export const MAX_ROLLUP_TAGS = 16;

function rollupTags(tags: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_ROLLUP_TAGS);
}

/** Spend waiting to be written, by project: what budget warnings are computed from. */
interface PendingSpend {
  budget: NonNullable<ProjectPolicy["budget"]>;
  /** Micro-dollars added per period counter key. */
  readonly byKey: Map<string, { readonly period: RollupPeriod; micros: number }>;
}

const isFinishedMinute = (key: string, currentMinute: number): boolean => key.startsWith("L|m|") && Number(key.split("|")[2]) < currentMinute;

export class LimitGuard {
  /** Reservations already settled or released by this guard: settling twice must not count twice. */
  private readonly finished = new WeakSet<Reservation>();
  private readonly allowances: LocalAllowances;
  private readonly leaseFraction: number;
  private readonly settleEveryInMs: number;
  private readonly pending = new PendingSettlements();
  private readonly pendingSince = new Map<string, number>();
  private readonly pendingSpend = new Map<string, PendingSpend>();
  /** One lease acquisition in flight per project; other requests wait for it, then look again. */
  private readonly acquiring = new Map<string, Promise<void>>();
  /** What the requests waiting for a project's acquisition need, by counter: the next lease covers it. */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** Owner and expiry of the budget this instance holds in the store. */
  readonly holds: HoldKeeper;

  constructor(private readonly deps: LimitGuardDeps) {
    this.leaseFraction = Math.max(0, deps.leaseFraction ?? 0);
    this.settleEveryInMs = Math.max(0, deps.settleEveryInMs ?? 0);
    this.allowances = new LocalAllowances(this.leaseFraction);
    const budgeted = deps.policy.projects.filter((project) => project.budget?.dailyUsd !== undefined || project.budget?.monthlyUsd !== undefined).map((project) => project.id);
    this.holds = new HoldKeeper({
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      owner: deps.owner ?? "instance",
      expiryInMs: Math.max(1, deps.holdExpiryInMs ?? DEFAULT_HOLD_EXPIRY_IN_MS),
      sweptProjects: () => budgeted,
    });
  }

  /** Every store write goes through here: holds it adds to expire unless renewed. */
  private async applyHeld(project: string, deltas: readonly CounterDelta[]): Promise<ApplyCountersResult> {
    const startedAt = this.deps.clock.nowInMs();
    const result = await this.deps.store.apply(project, deltas, { holdExpiresAtMs: this.holds.expiresAt(startedAt) });
    if (result.applied && deltas.some((delta) => delta.heldBy !== undefined && Object.values(delta.add).some((amount) => amount > 0))) this.holds.written(project, startedAt);
    return result;
  }

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
      result = await this.admit(project.id, limited);
      // Refused on budget: budget a dead instance still holds may be past its expiry. Sweep, then look once more.
      if (!result.applied && budgeted && result.refused.some((key) => key.startsWith("R|")) && (await this.holds.reclaimBeforeRefusal(project.id)).length > 0) {
        result = await this.admit(project.id, limited);
      }
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
    return { ...base, counted: true, headers, held: limited.map(({ key, add, heldBy }) => ({ key, add, ...(heldBy === undefined ? {} : { heldBy }) })) };
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

    this.queue(reservation.projectId, deltas);
    this.noteSpend(reservation, costMicros);
    if (!this.flushDue(reservation.projectId)) return { ...outcome, warnings: [], recorded: true };
    const flushed = await this.flushProject(reservation.projectId);
    return { ...outcome, warnings: flushed.warnings, recorded: flushed.written };
  }

  /**
   * Writes what is pending: settlements, releases, and leases no request used since the last
   * flush (handed back so other instances can have them). Budget thresholds crossed by what it
   * wrote are returned, so the caller can record them. A timer calls this every `settleEveryInMs`.
   */
  async flush(): Promise<ProjectBudgetWarning[]> {
    return this.flushAll(false);
  }

  /** Hands back every lease and writes everything pending: call it before the instance stops. */
  async close(): Promise<ProjectBudgetWarning[]> {
    return this.flushAll(true);
  }

  private async flushAll(everything: boolean): Promise<ProjectBudgetWarning[]> {
    const minute = windowsAt(this.deps.clock.nowInMs()).minute;
    this.queueReturned(this.allowances.reclaim({ everything, isOver: (key) => isFinishedMinute(key, minute) }));
    const warnings: ProjectBudgetWarning[] = [];
    for (const project of this.pending.partitions()) {
      const flushed = await this.flushProject(project);
      for (const warning of flushed.warnings) warnings.push({ ...warning, project });
    }
    // Renew what this instance holds, give back what dead ones held; after shutdown's hand-back nothing is held.
    if (!everything && (await this.holds.maintain())) {
      // Not renewed in time: what is leased locally may already be reclaimed. Hand it back (capped at
      // what is still held, so nothing comes back twice) and lease anew under the new owner name.
      this.queueReturned(this.allowances.reclaim({ everything: true, isOver: (key) => isFinishedMinute(key, minute) }));
      for (const project of this.pending.partitions()) await this.flushProject(project);
    }
    return warnings;
  }

  private queueReturned(returned: ReadonlyMap<string, readonly ReturnedAllowance[]>): void {
    for (const [project, amounts] of returned) {
      this.queue(
        project,
        amounts.map(({ key, field, amount, heldBy }) => ({ key, add: { [field]: -amount }, ...(heldBy === undefined ? {} : { heldBy }) })),
      );
    }
  }

  private queue(project: string, deltas: readonly CounterDelta[]): void {
    this.pending.add(project, deltas);
    if (!this.pendingSince.has(project)) this.pendingSince.set(project, this.deps.clock.nowInMs());
  }

  private flushDue(project: string): boolean {
    const since = this.pendingSince.get(project);
    return this.settleEveryInMs === 0 || since === undefined || this.deps.clock.nowInMs() - since >= this.settleEveryInMs;
  }

  private noteSpend(reservation: Reservation, costMicros: number): void {
    const budget = reservation.budget;
    if (budget === undefined || costMicros <= 0) return;
    let spend = this.pendingSpend.get(reservation.projectId);
    if (spend === undefined) {
      spend = { budget, byKey: new Map() };
      this.pendingSpend.set(reservation.projectId, spend);
    }
    spend.budget = budget;
    for (const period of ["day", "month"] as const) {
      const key = projectPeriodKey(period, reservation.windows);
      const entry = spend.byKey.get(key);
      if (entry) entry.micros += costMicros;
      else spend.byKey.set(key, { period, micros: costMicros });
    }
  }

  /** Writes one project's pending deltas (in rounds of at most 50 counters); requeues what failed. */
  private async flushProject(project: string): Promise<{ warnings: BudgetWarning[]; written: boolean }> {
    const deltas = this.pending.take(project);
    const spend = this.pendingSpend.get(project);
    this.pendingSpend.delete(project);
    this.pendingSince.delete(project);
    const counters: Record<string, CounterValues> = {};
    for (let start = 0; start < deltas.length; ) {
      const round = roundFrom(deltas, start);
      try {
        Object.assign(counters, (await this.applyHeld(project, round)).counters);
      } catch (error) {
        this.deps.logger.error("usage settlement not recorded yet", { project, error: ensureError(error).name });
        this.queue(project, deltas.slice(start));
        if (spend) this.requeueSpend(project, spend);
        return { warnings: [], written: false };
      }
      start += round.length;
    }
    const warnings = spend ? this.crossed(spend, counters) : [];
    for (const warning of warnings) this.deps.logger.warn("budget threshold crossed", { project, period: warning.period, fraction: warning.fraction });
    return { warnings, written: true };
  }

  private requeueSpend(project: string, spend: PendingSpend): void {
    const current = this.pendingSpend.get(project);
    if (current === undefined) {
      this.pendingSpend.set(project, spend);
      return;
    }
    for (const [key, entry] of spend.byKey) {
      const existing = current.byKey.get(key);
      if (existing) existing.micros += entry.micros;
      else current.byKey.set(key, { ...entry });
    }
  }

  /**
   * Admits a request's limited needs: from this instance's leases when they cover it, else by
   * committing the shortfall (plus a new lease while the window has room) in one atomic apply.
   */
  private async admit(project: string, deltas: readonly CounterDelta[]): Promise<ApplyCountersResult> {
    if (this.leaseFraction === 0) return this.applyHeld(project, deltas);
    const needs = deltas.map(needOf);
    for (;;) {
      if (this.allowances.tryTake(project, needs)) return { applied: true, counters: this.allowances.view(project, needs) };
      // Near a limit every request commits its own need, concurrently (the store batches them).
      if (this.allowances.anyExhausted(project, needs)) return this.commitShortfall(project, needs, false);
      const inFlight = this.acquiring.get(project);
      if (inFlight !== undefined) {
        this.addWaiting(project, needs, 1);
        await inFlight;
        this.addWaiting(project, needs, -1);
        continue;
      }
      const acquisition = this.commitShortfall(project, needs, true);
      const done = acquisition.then(
        () => undefined,
        () => undefined,
      );
      this.acquiring.set(project, done);
      try {
        return await acquisition;
      } finally {
        if (this.acquiring.get(project) === done) this.acquiring.delete(project);
      }
    }
  }

  private addWaiting(project: string, needs: readonly CounterNeed[], sign: 1 | -1): void {
    let byKey = this.waiting.get(project);
    if (byKey === undefined) {
      byKey = new Map();
      this.waiting.set(project, byKey);
    }
    for (const need of needs) {
      const total = (byKey.get(need.key) ?? 0) + sign * need.amount;
      if (total > 0) byKey.set(need.key, total);
      else byKey.delete(need.key);
    }
    if (byKey.size === 0) this.waiting.delete(project);
  }

  /** Commits what the leases do not cover; with `lease`, adds a lease, and retries without it if refused. */
  private async commitShortfall(project: string, needs: readonly CounterNeed[], lease: boolean): Promise<ApplyCountersResult> {
    const { deficits, taken } = this.allowances.takePartially(project, needs);
    if (deficits.length === 0) return { applied: true, counters: this.allowances.view(project, needs) };
    try {
      const waiting = this.waiting.get(project);
      const extras = deficits.map((need) => (lease ? this.allowances.extraFor(project, need, waiting?.get(need.key) ?? 0) : 0));
      // No room for a lease: this counter is near its limit for the rest of its window.
      if (lease) this.allowances.markExhausted(project, deficits.filter((_, index) => extras[index] === 0).map((need) => need.key));
      let result = await this.applyHeld(project, deficits.map((need, index) => deltaOf(need, need.amount + (extras[index] ?? 0))));
      this.allowances.observe(project, deficits, result.counters);
      if (!result.applied && extras.some((extra) => extra > 0)) {
        this.allowances.markExhausted(project, result.refused);
        extras.fill(0);
        result = await this.applyHeld(project, deficits.map((need) => deltaOf(need, need.amount)));
        this.allowances.observe(project, deficits, result.counters);
      }
      if (!result.applied) {
        this.allowances.markExhausted(project, result.refused);
        this.allowances.giveBack(project, taken);
        return { ...result, counters: { ...result.counters, ...this.allowances.view(project, needs.filter((need) => !(need.key in result.counters))) } };
      }
      deficits.forEach((need, index) => this.allowances.credit(project, need, extras[index] ?? 0));
      return { applied: true, counters: this.allowances.view(project, needs) };
    } catch (error) {
      this.allowances.giveBack(project, taken);
      throw error;
    }
  }

  /** Gives back everything reserved (the request slot too): the call failed before any usage. */
  async release(reservation: Reservation): Promise<void> {
    if (!reservation.counted || this.finished.has(reservation)) return;
    this.finished.add(reservation);
    this.queue(reservation.projectId, this.negate(reservation.held, []));
    if (this.flushDue(reservation.projectId)) await this.flushProject(reservation.projectId);
  }

  private negate(applied: readonly CounterDelta[], keepFields: readonly string[]): CounterDelta[] {
    const out: CounterDelta[] = [];
    for (const delta of applied) {
      const add: Record<string, number> = {};
      for (const [field, amount] of Object.entries(delta.add)) if (!keepFields.includes(field) && amount !== 0) add[field] = -amount;
      if (Object.keys(add).length > 0) out.push({ key: delta.key, add, ...(delta.heldBy === undefined ? {} : { heldBy: delta.heldBy }) });
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
      // Budget is held by this instance (owner and expiry): if it dies, what it held comes back.
      deltas.push({
        key: projectPeriodKey(period, windows),
        add: { [FIELD.usdReserved]: usdMicros },
        limit: { fields: [FIELD.usdReserved, FIELD.usd], max: usdToMicros(usd) },
        heldBy: this.holds.owner,
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

  private crossed(spend: PendingSpend, counters: Readonly<Record<string, CounterValues>>): BudgetWarning[] {
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
}

/** The deltas from `start` that fit one store round: at most 50 counters, holds included. */
function roundFrom(deltas: readonly CounterDelta[], start: number): CounterDelta[] {
  const round: CounterDelta[] = [];
  for (let index = start; index < deltas.length; index++) {
    const delta = deltas[index];
    if (delta === undefined) break;
    if (round.length > 0 && touchedKeys([...round, delta]).size > MAX_COUNTERS_PER_APPLY) break;
    round.push(delta);
  }
  return round;
}

function needOf(delta: CounterDelta): CounterNeed {
  const [field, amount] = Object.entries(delta.add)[0] ?? ["", 0];
  if (delta.limit === undefined) throw new RangeError(`counter ${delta.key} has no limit to lease against`);
  return { key: delta.key, field, amount, limit: delta.limit, ...(delta.heldBy === undefined ? {} : { heldBy: delta.heldBy }) };
}

function deltaOf(need: CounterNeed, amount: number): CounterDelta {
  return { key: need.key, add: { [need.field]: amount }, limit: need.limit, ...(need.heldBy === undefined ? {} : { heldBy: need.heldBy }) };
}
