import { type Clock } from "../clock.js";
import { ensureError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type ProjectPolicy } from "../policy/schema.js";
import { type BudgetWarning } from "./BudgetWarning.js";
import { crossedBudgetThresholds } from "./crossedBudgetThresholds.js";
import { type HoldKeeper } from "./HoldKeeper.js";
import { type ReturnedAllowance } from "./LocalAllowances.js";
import { PendingBudgetSpend } from "./PendingBudgetSpend.js";
import { PendingSettlements } from "./PendingSettlements.js";
import { type CounterDelta, type CounterValues, MAX_COUNTERS_PER_APPLY, touchedKeys } from "./UsageCounterStore.js";
import { type Windows } from "./windows.js";

/**
 * The write side of settlements, releases and handed-back leases: they only ever add and never
 * check a limit, so they can wait (`settleEveryInMs`) and be written together. What a write fails
 * to record stays pending and goes with the next one; the reservation stays held meanwhile (the
 * safe side). Budget thresholds are judged on what a write actually carried across them.
 */

export interface SettlementWriterDeps {
  readonly holds: HoldKeeper;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Settlements wait at most this long to be written together (0: each is written at once). */
  readonly settleEveryInMs: number;
}

export class SettlementWriter {
  private readonly pending = new PendingSettlements();
  private readonly pendingSince = new Map<string, number>();
  private readonly spend = new PendingBudgetSpend();

  constructor(private readonly deps: SettlementWriterDeps) {}

  queue(project: string, deltas: readonly CounterDelta[]): void {
    this.pending.add(project, deltas);
    if (!this.pendingSince.has(project)) this.pendingSince.set(project, this.deps.clock.nowInMs());
  }

  /** Queues capacity handed back from leases, taken off the counters (and holds) it was committed to. */
  queueReturned(returned: ReadonlyMap<string, readonly ReturnedAllowance[]>): void {
    for (const [project, amounts] of returned) {
      this.queue(
        project,
        amounts.map(({ key, field, amount, heldBy }) => ({ key, add: { [field]: -amount }, ...(heldBy === undefined ? {} : { heldBy }) })),
      );
    }
  }

  /** Remembers a settlement's cost, for the budget warnings of the write that carries it. */
  noteSpend(project: string, budget: ProjectPolicy["budget"], windows: Windows, costMicros: number): void {
    this.spend.note(project, budget, windows, costMicros);
  }

  /** True when the project's pending writes have waited long enough (always, without merging). */
  isDue(project: string): boolean {
    const since = this.pendingSince.get(project);
    return this.deps.settleEveryInMs === 0 || since === undefined || this.deps.clock.nowInMs() - since >= this.deps.settleEveryInMs;
  }

  /** Projects with something pending. */
  partitions(): string[] {
    return this.pending.partitions();
  }

  /** Writes one project's pending deltas (in rounds of at most 50 counters); requeues what failed. */
  async flushProject(project: string): Promise<{ warnings: BudgetWarning[]; written: boolean }> {
    const deltas = this.pending.take(project);
    const spend = this.spend.take(project);
    this.pendingSince.delete(project);
    const counters: Record<string, CounterValues> = {};
    for (let start = 0; start < deltas.length; ) {
      const round = roundFrom(deltas, start);
      try {
        Object.assign(counters, (await this.deps.holds.apply(project, round)).counters);
      } catch (error) {
        this.deps.logger.error("usage settlement not recorded yet", { project, error: ensureError(error).name });
        this.queue(project, deltas.slice(start));
        if (spend) this.spend.restore(project, spend);
        return { warnings: [], written: false };
      }
      start += round.length;
    }
    const warnings = spend ? crossedBudgetThresholds(spend, counters) : [];
    for (const warning of warnings) this.deps.logger.warn("budget threshold crossed", { project, period: warning.period, fraction: warning.fraction });
    return { warnings, written: true };
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
