import { type CounterLimit, type CounterValues } from "./UsageCounterStore.js";

/**
 * Capacity this instance has already committed in the shared counter store but not yet handed to
 * a request: a lease. A request the lease covers is admitted without a store round trip.
 *
 * Leasing never admits more than a limit: a lease is taken with the same atomic, limit-checked
 * `apply` as a single request, so every admitted request is covered by committed capacity. What it
 * costs is fairness at the edge: capacity one instance holds is not available to another until it
 * is used or handed back (idle leases are returned on the next flush). Near a limit, leases shrink
 * to nothing and the counter goes "exact" for the rest of its window: every request commits its own
 * need, as without leasing. See docs/limits.md.
 */

/** What one request needs from one limited counter. */
export interface CounterNeed {
  readonly key: string;
  /** The one field the need adds to (requests, reserved tokens, reserved micro-dollars). */
  readonly field: string;
  readonly amount: number;
  readonly limit: CounterLimit;
  /** The owner whose hold the capacity is committed under (budget counters), if any. */
  readonly heldBy?: string;
}

interface Allowance {
  /** Committed in the store, not yet used by a request. */
  left: number;
  readonly field: string;
  readonly heldBy: string | undefined;
  /** The limit the lease was committed against (unknown for a share given back): what leasing it again needs. */
  limit: CounterLimit | undefined;
  /** Taken from since the last flush; an untouched allowance is handed back. */
  touched: boolean;
  /** Below this, the allowance is topped up ahead of need: half of the last lease. */
  lowWater: number;
}

interface CounterKnowledge {
  /** The limited sum as the store last reported it (this instance's lease included). */
  committed: number;
  /** The window is nearly full: no more leases, every request commits its own need. */
  exhausted: boolean;
}

/** A part of a need that was taken from the local allowance (given back if the rest is refused). */
export interface TakenLocally {
  readonly key: string;
  readonly field: string;
  readonly amount: number;
  readonly heldBy?: string;
}

/** Capacity handed back to the store. */
export interface ReturnedAllowance {
  readonly key: string;
  readonly field: string;
  readonly amount: number;
  readonly heldBy: string | undefined;
}

/** Allowances of one instance, by partition (project) and counter key. Plain bookkeeping: no I/O. */
export class LocalAllowances {
  private readonly allowances = new Map<string, Map<string, Allowance>>();
  private readonly knowledge = new Map<string, Map<string, CounterKnowledge>>();

  constructor(
    /** Share of a counter's limit one lease may add beyond the request's need. */
    private readonly leaseFraction: number,
    /** At most this share of the headroom left (limit minus committed) goes to one lease. */
    private readonly headroomShare = 0.25,
  ) {}

  /** Takes every need from the allowances, or nothing when any falls short. */
  tryTake(partition: string, needs: readonly CounterNeed[]): boolean {
    const allowances = this.allowances.get(partition);
    if (allowances === undefined) return false;
    for (const need of needs) if ((allowances.get(need.key)?.left ?? 0) < need.amount) return false;
    for (const need of needs) {
      const allowance = allowances.get(need.key);
      if (allowance === undefined) continue;
      allowance.left -= need.amount;
      allowance.touched = true;
    }
    return true;
  }

  /** Takes what the allowances hold of each need; returns the rest (deficits) and what was taken. */
  takePartially(partition: string, needs: readonly CounterNeed[]): { deficits: CounterNeed[]; taken: TakenLocally[] } {
    const allowances = this.allowances.get(partition);
    const deficits: CounterNeed[] = [];
    const taken: TakenLocally[] = [];
    for (const need of needs) {
      const allowance = allowances?.get(need.key);
      const local = Math.max(0, Math.min(allowance?.left ?? 0, need.amount));
      if (allowance !== undefined && local > 0) {
        allowance.left -= local;
        allowance.touched = true;
        taken.push({ key: need.key, field: need.field, amount: local, ...(allowance.heldBy === undefined ? {} : { heldBy: allowance.heldBy }) });
      }
      if (local < need.amount) deficits.push({ ...need, amount: need.amount - local });
    }
    return { deficits, taken };
  }

  /**
   * Gives back what `takePartially` took, when the rest of the request was refused. The allowance
   * may have been reclaimed meanwhile; the amount is still committed, so it is tracked again.
   */
  giveBack(partition: string, taken: readonly TakenLocally[]): void {
    for (const part of taken) this.credit(partition, part, part.amount);
  }

  /**
   * Extra capacity to lease with a deficit: what requests already waiting for this acquisition need
   * (so a burst is admitted in one round, as the store's group commit would), or else a share of the
   * limit for the requests still to come, but never more than a share of the headroom last seen.
   */
  extraFor(partition: string, need: CounterNeed, waiting = 0): number {
    if (this.leaseFraction <= 0) return 0;
    const known = this.knowledge.get(partition)?.get(need.key);
    if (known?.exhausted === true) return 0;
    const headroom = need.limit.max - (known?.committed ?? 0) - need.amount;
    const ahead = Math.floor(Math.min(need.limit.max * this.leaseFraction, headroom * this.headroomShare));
    const extra = Math.min(Math.max(ahead, waiting), headroom);
    return extra > 0 ? extra : 0;
  }

  /** Whether any of the needs' counters is nearly full for this window. */
  anyExhausted(partition: string, needs: readonly CounterNeed[]): boolean {
    const known = this.knowledge.get(partition);
    return known !== undefined && needs.some((need) => known.get(need.key)?.exhausted === true);
  }

  markExhausted(partition: string, keys: Iterable<string>): void {
    const known = this.knowledgeOf(partition);
    for (const key of keys) {
      const entry = known.get(key);
      if (entry) entry.exhausted = true;
      else known.set(key, { committed: 0, exhausted: true });
    }
  }

  /**
   * Adds capacity committed in the store beyond what requests took: a new lease (`lease`), or a
   * request's share given back. A lease also sets the mark below which it is topped up ahead of need.
   */
  credit(partition: string, need: Pick<CounterNeed, "key" | "field" | "heldBy"> & { readonly limit?: CounterLimit }, amount: number, lease = false): void {
    if (amount <= 0) return;
    let allowances = this.allowances.get(partition);
    if (allowances === undefined) {
      allowances = new Map();
      this.allowances.set(partition, allowances);
    }
    const lowWater = lease ? Math.floor(amount / 2) : 0;
    const allowance = allowances.get(need.key);
    if (allowance) {
      allowance.left += amount;
      allowance.touched = true;
      if (lease) allowance.lowWater = lowWater;
      allowance.limit ??= need.limit;
    } else {
      allowances.set(need.key, { left: amount, field: need.field, heldBy: need.heldBy, limit: need.limit, touched: true, lowWater });
    }
  }

  /**
   * The counters this instance is using (holding a lease that was not handed back as idle) whose
   * window turns next, as needs of nothing in the window after (`successor`: its key there, or null
   * when the counter's window does not turn), by partition: what to lease before the boundary.
   * Counters already leased in the next window are left out.
   */
  nextWindowNeeds(successor: (key: string) => string | null): Map<string, CounterNeed[]> {
    const byPartition = new Map<string, CounterNeed[]>();
    for (const [partition, allowances] of this.allowances) {
      for (const [key, { field, heldBy, limit }] of allowances) {
        if (limit === undefined) continue;
        const next = successor(key);
        if (next === null || allowances.has(next)) continue;
        const needs = byPartition.get(partition) ?? [];
        needs.push(heldBy === undefined ? { key: next, field, amount: 0, limit } : { key: next, field, amount: 0, limit, heldBy });
        byPartition.set(partition, needs);
      }
    }
    return byPartition;
  }

  /** The needs whose lease fell below half of its size (and whose window has room): worth topping up now. */
  runningLow(partition: string, needs: readonly CounterNeed[]): CounterNeed[] {
    const allowances = this.allowances.get(partition);
    if (allowances === undefined) return [];
    const known = this.knowledge.get(partition);
    return needs.filter((need) => {
      const allowance = allowances.get(need.key);
      return allowance !== undefined && allowance.left < allowance.lowWater && known?.get(need.key)?.exhausted !== true;
    });
  }

  /** Records the limited sums the store reported (after an apply, committed or refused). */
  observe(partition: string, needs: readonly CounterNeed[], counters: Readonly<Record<string, CounterValues>>): void {
    const known = this.knowledgeOf(partition);
    for (const need of needs) {
      const values = counters[need.key];
      if (values === undefined) continue;
      let committed = 0;
      for (const field of need.limit.fields) committed += values[field] ?? 0;
      const entry = known.get(need.key);
      if (entry) entry.committed = committed;
      else known.set(need.key, { committed, exhausted: false });
    }
  }

  /**
   * The counters as this instance sees them, for rate-limit headers: what the store last reported,
   * less what this instance holds unused (that is still available to its callers).
   */
  view(partition: string, needs: readonly CounterNeed[]): Record<string, CounterValues> {
    const known = this.knowledge.get(partition);
    const allowances = this.allowances.get(partition);
    const counters: Record<string, CounterValues> = {};
    for (const need of needs) {
      const used = (known?.get(need.key)?.committed ?? 0) - (allowances?.get(need.key)?.left ?? 0);
      const field = need.limit.fields[0] ?? need.field;
      counters[need.key] = { [field]: Math.max(0, used) };
    }
    return counters;
  }

  /**
   * Allowances to hand back to the store: those no request took from since the last call, those
   * whose counter is exhausted, and all of them when `everything`. Allowances of windows that are
   * over (`isOver`) nobody can use: held ones (budget) are handed back at once, so the hold shrinks;
   * the others are dropped, as writing to them is wasted. Those of windows not started yet
   * (`isAhead`: leased before the boundary) are kept until their window has had a flush interval to
   * use them, unless `everything`. Resets the `touched` marks. Returns the amounts by partition.
   */
  reclaim(options: { everything: boolean; isOver: (key: string) => boolean; isAhead: (key: string) => boolean }): Map<string, ReturnedAllowance[]> {
    const returned = new Map<string, ReturnedAllowance[]>();
    for (const [partition, allowances] of this.allowances) {
      const known = this.knowledge.get(partition);
      for (const [key, allowance] of allowances) {
        const over = options.isOver(key);
        if (over && allowance.heldBy === undefined) {
          allowances.delete(key);
          continue;
        }
        if (!options.everything && options.isAhead(key)) continue;
        const idle = over || !allowance.touched || known?.get(key)?.exhausted === true;
        allowance.touched = false;
        if (!options.everything && !idle) continue;
        if (allowance.left > 0) {
          const list = returned.get(partition) ?? [];
          list.push({ key, field: allowance.field, amount: allowance.left, heldBy: allowance.heldBy });
          returned.set(partition, list);
        }
        allowances.delete(key);
      }
      if (allowances.size === 0) this.allowances.delete(partition);
      if (known !== undefined) {
        for (const key of known.keys()) if (options.isOver(key)) known.delete(key);
        if (known.size === 0) this.knowledge.delete(partition);
      }
    }
    return returned;
  }

  private knowledgeOf(partition: string): Map<string, CounterKnowledge> {
    let known = this.knowledge.get(partition);
    if (known === undefined) {
      known = new Map();
      this.knowledge.set(partition, known);
    }
    return known;
  }
}
