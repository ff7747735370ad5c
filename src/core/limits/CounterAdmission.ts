import { inNextWindows, windowOrder } from "./counterKeys.js";
import { type HoldKeeper } from "./HoldKeeper.js";
import { type CounterNeed, LocalAllowances, type ReturnedAllowance } from "./LocalAllowances.js";
import { type ApplyCountersResult, type CounterDelta } from "./UsageCounterStore.js";
import { nextWindows, type Windows } from "./windows.js";

/**
 * The admission check: a request's limited counters (rate limits, budget reservations) either all
 * move or none does. Without leases every request is one atomic, limit-checked `apply`. With
 * leases (`leaseFraction` > 0) a request is admitted from capacity this instance already
 * committed, and only the shortfall goes to the store, one acquisition per project at a time
 * (docs/limits.md).
 */

export class CounterAdmission {
  private readonly allowances: LocalAllowances;
  /** One lease acquisition in flight per project; other requests wait for it, then look again. */
  private readonly acquiring = new Map<string, Promise<void>>();
  /** What the requests waiting for a project's acquisition need, by counter: the next lease covers it. */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** One lease of the next windows in flight per project (`leaseNextWindows`). */
  private readonly leasingAhead = new Map<string, Promise<void>>();

  constructor(
    private readonly holds: HoldKeeper,
    /** Share of a limit one lease may add beyond a request's need (0: no leases). */
    private readonly leaseFraction: number,
  ) {
    this.allowances = new LocalAllowances(leaseFraction);
  }

  /**
   * Admits a request's limited needs: from this instance's leases when they cover it, else by
   * committing the shortfall (plus a new lease while the window has room) in one atomic apply.
   */
  async admit(project: string, deltas: readonly CounterDelta[]): Promise<ApplyCountersResult> {
    if (this.leaseFraction === 0) return this.holds.apply(project, deltas);
    const needs = deltas.map(needOf);
    for (;;) {
      if (this.allowances.tryTake(project, needs)) {
        this.topUpWhenLow(project, needs);
        return { applied: true, counters: this.allowances.view(project, needs) };
      }
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

  /** Waits for the lease acquisitions in flight (before every lease is handed back at shutdown). */
  async quiesce(): Promise<void> {
    await Promise.all([...this.acquiring.values(), ...this.leasingAhead.values()]);
  }

  /**
   * Takes back leases to hand to the store: those no request used since the last call and those
   * of finished windows, or every one (`everything`: shutdown, or holds forfeited). Leases of
   * windows after `current` stay until their window has had a flush interval to use them.
   */
  returnLeases(everything: boolean, current: Windows): ReadonlyMap<string, readonly ReturnedAllowance[]> {
    return this.allowances.reclaim({
      everything,
      isOver: (key) => windowOrder(key, current) < 0,
      isAhead: (key) => windowOrder(key, current) > 0,
    });
  }

  /**
   * Shortly before the minute of `current` ends: leases the next window of every counter this
   * instance is using whose window ends with it (every minute counter; day and month budgets when
   * the day or month turns), off any request's path, so the first requests after the boundary are
   * admitted from memory instead of waiting for a store round trip. Limit-checked like any lease.
   * A failure or a refusal costs nothing and turns nothing exact: the first request after the
   * boundary acquires on its path, as it would have without this.
   */
  async leaseNextWindows(current: Windows): Promise<void> {
    const next = nextWindows(current);
    const leases: Promise<void>[] = [];
    for (const [project, needs] of this.allowances.nextWindowNeeds((key) => inNextWindows(key, current, next))) {
      if (this.leasingAhead.has(project)) continue;
      const done = this.commitLeases(project, needs).then(
        () => undefined,
        () => undefined,
      );
      this.leasingAhead.set(project, done);
      leases.push(done.then(() => void this.leasingAhead.delete(project)));
    }
    await Promise.all(leases);
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

  /**
   * Leases more for the counters running low, off the request's path: the requests that follow find
   * the capacity committed instead of waiting for a store round trip each time a lease runs out. It
   * counts as the project's acquisition in flight, so a request the rest of the lease cannot cover
   * waits for it rather than starting another.
   */
  private topUpWhenLow(project: string, needs: readonly CounterNeed[]): void {
    if (this.acquiring.has(project)) return;
    const low = this.allowances.runningLow(project, needs);
    if (low.length === 0) return;
    // A top-up that fails or is refused costs nothing: the next request that needs more acquires on its path.
    const done = this.topUp(project, low).catch(() => undefined);
    this.acquiring.set(project, done);
    void done.then(() => {
      if (this.acquiring.get(project) === done) this.acquiring.delete(project);
    });
  }

  private async topUp(project: string, needs: readonly CounterNeed[]): Promise<void> {
    const extras = needs.map((need) => this.allowances.extraFor(project, { ...need, amount: 0 }));
    this.allowances.markExhausted(project, needs.filter((_, index) => extras[index] === 0).map((need) => need.key));
    const refused = await this.commitLeases(project, needs);
    this.allowances.markExhausted(project, refused);
  }

  /**
   * Commits a lease only (no request's need) for each counter with room for one, in one
   * limit-checked apply, and credits it. Returns the keys the store refused (none when applied).
   */
  private async commitLeases(project: string, needs: readonly CounterNeed[]): Promise<readonly string[]> {
    const leased: { need: CounterNeed; amount: number }[] = [];
    for (const need of needs) {
      const amount = this.allowances.extraFor(project, { ...need, amount: 0 });
      if (amount > 0) leased.push({ need, amount });
    }
    if (leased.length === 0) return [];
    const result = await this.holds.apply(project, leased.map(({ need, amount }) => deltaOf(need, amount)));
    this.allowances.observe(project, needs, result.counters);
    if (!result.applied) return result.refused;
    for (const { need, amount } of leased) this.allowances.credit(project, need, amount, true);
    return [];
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
      let result = await this.holds.apply(project, deficits.map((need, index) => deltaOf(need, need.amount + (extras[index] ?? 0))));
      this.allowances.observe(project, deficits, result.counters);
      if (!result.applied && extras.some((extra) => extra > 0)) {
        this.allowances.markExhausted(project, result.refused);
        extras.fill(0);
        result = await this.holds.apply(project, deficits.map((need) => deltaOf(need, need.amount)));
        this.allowances.observe(project, deficits, result.counters);
      }
      if (!result.applied) {
        this.allowances.markExhausted(project, result.refused);
        this.allowances.giveBack(project, taken);
        return { ...result, counters: { ...result.counters, ...this.allowances.view(project, needs.filter((need) => !(need.key in result.counters))) } };
      }
      deficits.forEach((need, index) => this.allowances.credit(project, need, extras[index] ?? 0, true));
      return { applied: true, counters: this.allowances.view(project, needs) };
    } catch (error) {
      this.allowances.giveBack(project, taken);
      throw error;
    }
  }
}

function needOf(delta: CounterDelta): CounterNeed {
  if (delta.limit === undefined) throw new RangeError(`counter ${delta.key} has no limit to lease against`);
  // Its first field, without an entries array per counter.
  for (const field in delta.add) {
    const amount = delta.add[field] ?? 0;
    return delta.heldBy === undefined ? { key: delta.key, field, amount, limit: delta.limit } : { key: delta.key, field, amount, limit: delta.limit, heldBy: delta.heldBy };
  }
  return delta.heldBy === undefined ? { key: delta.key, field: "", amount: 0, limit: delta.limit } : { key: delta.key, field: "", amount: 0, limit: delta.limit, heldBy: delta.heldBy };
}

function deltaOf(need: CounterNeed, amount: number): CounterDelta {
  return { key: need.key, add: { [need.field]: amount }, limit: need.limit, ...(need.heldBy === undefined ? {} : { heldBy: need.heldBy }) };
}
