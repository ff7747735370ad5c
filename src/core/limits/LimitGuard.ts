import { type Clock } from "../clock.js";
import { ensureError, PalisadeError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type ModelPrice, type Policy, type ProjectPolicy } from "../policy/schema.js";
import { findPrice, microsToUsd, priceUsageMicros, type TokenUsage } from "../pricing/priceUsage.js";
import { admissionDeltas } from "./admissionDeltas.js";
import { type BudgetWarning } from "./BudgetWarning.js";
import { CounterAdmission } from "./CounterAdmission.js";
import { HoldKeeper } from "./HoldKeeper.js";
import { limitRefusal } from "./limitRefusal.js";
import { type ProjectBudgetWarning } from "./ProjectBudgetWarning.js";
import { type Reservation } from "./Reservation.js";
import { reservationHeaders } from "./reservationHeaders.js";
import { type ReserveInput } from "./ReserveInput.js";
import { settlementDeltas } from "./settlementDeltas.js";
import { SettlementWriter } from "./SettlementWriter.js";
import { takeBackDeltas } from "./takeBackDeltas.js";
import { countedExactly, countedTokens } from "./tokenEncodings.js";
import { type CounterDelta, type UsageCounterStore } from "./UsageCounterStore.js";
import { msUntilNextMinute, type Windows, windowsAt } from "./windows.js";

// The guard's vocabulary, where its callers have always found it.
export type { BudgetWarning, ProjectBudgetWarning, Reservation, ReserveInput };

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
 *
 * The guard decides; three parts do the work: `CounterAdmission` (the limit check, with leases),
 * `HoldKeeper` (owner and expiry of held budget, renewal, sweeping dead instances' holds) and
 * `SettlementWriter` (settlements and releases, merged and written, and budget warnings).
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

/**
 * How long before a minute ends the windows starting with the next are leased (`leaseNextWindows`):
 * time for a slow store round trip, while capacity of a window nobody can use yet is committed only briefly.
 */
export const LEASE_NEXT_WINDOWS_AHEAD_IN_MS = 2_000;

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

const NOT_COUNTED = { tokens: 0, upperBound: false } as const;
/** Read, never changed (`warnings` is readonly): one empty list for every settlement that crossed nothing. */
const NO_WARNINGS: readonly BudgetWarning[] = Object.freeze([]);

const reservedTokensFor = (promptTokens: number, maxOutputTokens: number): number => Math.max(0, Math.ceil(promptTokens)) + Math.max(0, Math.ceil(maxOutputTokens));

const reservedUsdMicrosFor = (price: ModelPrice | null, promptTokens: number, maxOutputTokens: number): number =>
  price === null ? 0 : priceUsageMicros(price, { inputTokens: promptTokens, outputTokens: maxOutputTokens });

/** What a reservation holds of a limited delta: its key, amounts and holder, not its limit. */
const heldOf = ({ key, add, heldBy }: CounterDelta): CounterDelta => (heldBy === undefined ? { key, add } : { key, add, heldBy });

/** The reservation, built in one object literal. */
function reservationOf(
  input: ReserveInput,
  windows: Windows,
  reservedTokens: number,
  reservedUsdMicros: number,
  tracked: boolean,
  price: ModelPrice | null,
  counted: boolean,
  headers: Readonly<Record<string, string>>,
  held: readonly CounterDelta[],
): Reservation {
  const { project, serviceAccount } = input;
  return {
    projectId: project.id,
    keyId: input.keyId,
    serviceAccountId: serviceAccount?.id ?? null,
    model: input.model,
    deployment: input.deployment,
    operation: input.operation ?? null,
    windows,
    reservedTokens,
    reservedUsdMicros,
    tracked,
    price,
    tags: project.tags,
    budget: project.budget,
    counted,
    headers,
    held,
  };
}

export class LimitGuard {
  /** Reservations already settled or released by this guard: settling twice must not count twice. */
  private readonly finished = new WeakSet<Reservation>();
  private readonly admission: CounterAdmission;
  private readonly settlements: SettlementWriter;
  /** Owner and expiry of the budget this instance holds in the store. */
  readonly holds: HoldKeeper;
  /** Requests admitted without their limits checked (store unreachable, project fails open). */
  private unenforced = 0;

  constructor(private readonly deps: LimitGuardDeps) {
    const budgeted = deps.policy.projects.filter((project) => project.budget?.dailyUsd !== undefined || project.budget?.monthlyUsd !== undefined).map((project) => project.id);
    this.holds = new HoldKeeper({
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      owner: deps.owner ?? "instance",
      expiryInMs: Math.max(1, deps.holdExpiryInMs ?? DEFAULT_HOLD_EXPIRY_IN_MS),
      sweptProjects: () => budgeted,
    });
    this.admission = new CounterAdmission(this.holds, Math.max(0, deps.leaseFraction ?? 0));
    this.settlements = new SettlementWriter({ holds: this.holds, clock: deps.clock, logger: deps.logger, settleEveryInMs: Math.max(0, deps.settleEveryInMs ?? 0) });
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

    const countsTokens = budgeted || project.limits.tokensPerMinute !== undefined || serviceAccount?.limits.tokensPerMinute !== undefined;
    const estimate = input.estimatedPromptTokens;
    const counted = !countsTokens ? NOT_COUNTED : typeof estimate === "function" ? countedTokens(estimate) : { tokens: estimate, upperBound: false };
    // Sized in plain variables (no closures or objects a request): sized again only on the exact count below.
    let reservedTokens = reservedTokensFor(counted.tokens, input.maxOutputTokens);
    let reservedUsdMicros = reservedUsdMicrosFor(price, counted.tokens, input.maxOutputTokens);
    let limited = admissionDeltas(input, windows, reservedTokens, reservedUsdMicros, this.holds.owner);
    const tracked = limited.length > 0 || budgeted;

    if (!tracked) return reservationOf(input, windows, reservedTokens, reservedUsdMicros, tracked, price, false, {}, []);

    let result = await this.admitOrFallBack(project.id, limited, budget, project.limits);
    // Refused on an upper bound (the encoding was still loading): only the exact count may refuse.
    if (result !== null && !result.applied && counted.upperBound && typeof estimate === "function") {
      const exact = countedExactly(estimate);
      reservedTokens = reservedTokensFor(exact, input.maxOutputTokens);
      reservedUsdMicros = reservedUsdMicrosFor(price, exact, input.maxOutputTokens);
      limited = admissionDeltas(input, windows, reservedTokens, reservedUsdMicros, this.holds.owner);
      result = await this.admitOrFallBack(project.id, limited, budget, project.limits);
    }
    if (result === null) return reservationOf(input, windows, reservedTokens, reservedUsdMicros, tracked, price, false, {}, []);

    const headers = reservationHeaders(input, windows, result.counters, now);
    if (!result.applied) throw limitRefusal(input, windows, result.refused, result.counters, headers, now, reservedTokens);
    return reservationOf(input, windows, reservedTokens, reservedUsdMicros, tracked, price, true, headers, limited.map(heldOf));
  }

  /**
   * One admission against the store. A store that cannot answer: 503 for a budget or limits set to
   * fail closed, else null (the request goes through uncounted: `counted: false`, unenforced).
   */
  private async admitOrFallBack(projectId: string, limited: ReturnType<typeof admissionDeltas>, budget: ProjectPolicy["budget"], limits: ProjectPolicy["limits"]) {
    const budgeted = budget !== undefined && (budget.dailyUsd !== undefined || budget.monthlyUsd !== undefined);
    try {
      let result = await this.admission.admit(projectId, limited);
      // Refused on budget: budget a dead instance still holds may be past its expiry. Sweep, then look once more.
      if (!result.applied && budgeted && result.refused.some((key) => key.startsWith("R|")) && (await this.holds.reclaimBeforeRefusal(projectId)).length > 0) {
        result = await this.admission.admit(projectId, limited);
      }
      return result;
    } catch (error) {
      const budgetClosed = budgeted && budget.failClosed;
      const failClosed = budgetClosed || limits.onStoreUnavailable === "fail_closed";
      if (!failClosed) this.unenforced++;
      this.deps.logger.warn("limits store unavailable", { project: projectId, failClosed, unenforcedAdmissions: this.unenforced, error: ensureError(error).name });
      if (failClosed) {
        const setting = budgetClosed ? "its budget is set to fail closed" : "its limits are set to fail closed (limits.onStoreUnavailable)";
        throw new PalisadeError(
          503,
          "service_unavailable_error",
          "limits_unavailable",
          `Usage limits for project "${projectId}" cannot be checked right now, and ${setting}. Retry shortly; if it persists, check the counter store.`,
          { headers: { "retry-after": "1" }, cause: error },
        );
      }
      return null;
    }
  }

  /** Requests this instance let through without their limits checked (store unreachable, project fails open). */
  get unenforcedAdmissions(): number {
    return this.unenforced;
  }

  async settle(reservation: Reservation, usage: TokenUsage): Promise<SettleResult> {
    const price = reservation.price;
    const costMicros = price === null ? 0 : priceUsageMicros(price, usage);
    const costUsd = microsToUsd(costMicros);
    const priced = price !== null;
    if (!reservation.tracked) return { costUsd, priced, warnings: NO_WARNINGS, recorded: true };
    if (this.finished.has(reservation)) return { costUsd, priced, warnings: NO_WARNINGS, recorded: false };
    this.finished.add(reservation);

    this.settlements.queue(reservation.projectId, settlementDeltas(reservation, usage, costMicros));
    this.settlements.noteSpend(reservation.projectId, reservation.budget, reservation.windows, costMicros);
    if (!this.settlements.isDue(reservation.projectId)) return { costUsd, priced, warnings: NO_WARNINGS, recorded: true };
    const flushed = await this.settlements.flushProject(reservation.projectId);
    return { costUsd, priced, warnings: flushed.warnings, recorded: flushed.written };
  }

  /** Gives back everything reserved (the request slot too): the call failed before any usage. */
  async release(reservation: Reservation): Promise<void> {
    if (!reservation.counted || this.finished.has(reservation)) return;
    this.finished.add(reservation);
    this.settlements.queue(reservation.projectId, takeBackDeltas(reservation.held, []));
    if (this.settlements.isDue(reservation.projectId)) await this.settlements.flushProject(reservation.projectId);
  }

  /**
   * Writes what is pending: settlements, releases, and leases no request used since the last
   * flush (handed back so other instances can have them). Budget thresholds crossed by what it
   * wrote are returned, so the caller can record them. A timer calls this every `settleEveryInMs`.
   */
  async flush(): Promise<ProjectBudgetWarning[]> {
    return this.flushAll(false);
  }

  /**
   * Leases the windows that start with the next minute (every minute counter; the day's and the
   * month's budget when they turn too) for the counters this instance is using, so the first
   * requests after the boundary are admitted from memory (docs/limits.md, "Leases"). A timer calls
   * it `LEASE_NEXT_WINDOWS_AHEAD_IN_MS` before each minute ends; earlier than twice that, or with
   * leases off, it does nothing.
   */
  async leaseNextWindows(): Promise<void> {
    const now = this.deps.clock.nowInMs();
    if (msUntilNextMinute(now) > 2 * LEASE_NEXT_WINDOWS_AHEAD_IN_MS) return;
    await this.admission.leaseNextWindows(windowsAt(now));
  }

  /** Hands back every lease and writes everything pending: call it before the instance stops. */
  async close(): Promise<ProjectBudgetWarning[]> {
    return this.flushAll(true);
  }

  private async flushAll(everything: boolean): Promise<ProjectBudgetWarning[]> {
    // A top-up still in flight would credit a lease after the hand-back, and nobody would return it.
    if (everything) await this.admission.quiesce();
    const windows = windowsAt(this.deps.clock.nowInMs());
    this.settlements.queueReturned(this.admission.returnLeases(everything, windows));
    const warnings: ProjectBudgetWarning[] = [];
    for (const project of this.settlements.partitions()) {
      const flushed = await this.settlements.flushProject(project);
      for (const warning of flushed.warnings) warnings.push({ ...warning, project });
    }
    // Renew what this instance holds, give back what dead ones held; after shutdown's hand-back nothing is held.
    if (!everything && (await this.holds.maintain())) {
      // Not renewed in time: what is leased locally may already be reclaimed. Hand it back (capped at
      // what is still held, so nothing comes back twice) and lease anew under the new owner name.
      this.settlements.queueReturned(this.admission.returnLeases(true, windows));
      for (const project of this.settlements.partitions()) await this.settlements.flushProject(project);
    }
    return warnings;
  }
}
