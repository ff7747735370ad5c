import { type Clock } from "../clock.js";
import { ensureError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type ApplyCountersResult, type CounterDelta, type ReclaimedHold, type UsageCounterStore } from "./UsageCounterStore.js";

/**
 * Who holds what this instance reserved, and until when. Budget reservations and budget leases
 * are written as holds of this instance (the owner), which expire `expiryInMs` after the last
 * renewal. A live instance renews every third of that; every instance sweeps the budgeted
 * projects as often and gives back what dead instances held (docs/limits.md, "Holds"). So budget
 * held by a crashed instance comes back within `expiryInMs` plus one sweep interval.
 *
 * Fencing: an instance that could not renew for two thirds of the expiry assumes its holds may be
 * reclaimed and takes a new owner name (an incarnation): its old reservations settle against the
 * old name (capped at what is still held there, so nothing is given back twice) and new ones are
 * held under the new name. The third left over covers clock skew between instances.
 */

export interface HoldKeeperDeps {
  readonly store: UsageCounterStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This instance's name in the store (unique per process). */
  readonly owner: string;
  readonly expiryInMs: number;
  /** Projects whose holds this instance sweeps (those with a budget). */
  readonly sweptProjects: () => readonly string[];
}

export class HoldKeeper {
  private incarnation = 0;
  /** Partitions where this owner may hold something: the ones it renews. */
  private readonly holding = new Set<string>();
  private lastMaintenanceAt = Number.NEGATIVE_INFINITY;
  /** Until when this owner's holds are surely not reclaimed (by its own clock). */
  private validUntil = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: HoldKeeperDeps) {}

  /** The name holds are written under now. */
  get owner(): string {
    return this.incarnation === 0 ? this.deps.owner : `${this.deps.owner}.${this.incarnation}`;
  }

  get expiryInMs(): number {
    return this.deps.expiryInMs;
  }

  /** The expiry to write with a hold that starts now. */
  expiresAt(nowInMs: number): number {
    return nowInMs + this.deps.expiryInMs;
  }

  /**
   * Every limits write goes through here: the holds it adds expire unless renewed, and a partition
   * it added to is one this owner now renews.
   */
  async apply(project: string, deltas: readonly CounterDelta[]): Promise<ApplyCountersResult> {
    const startedAt = this.deps.clock.nowInMs();
    const result = await this.deps.store.apply(project, deltas, { holdExpiresAtMs: this.expiresAt(startedAt) });
    if (result.applied && deltas.some((delta) => delta.heldBy !== undefined && Object.values(delta.add).some((amount) => amount > 0))) this.written(project, startedAt);
    return result;
  }

  /** A held write that started at `startedAt` was committed in `project`. */
  private written(project: string, startedAt: number): void {
    if (this.holding.size === 0 || this.validUntil === Number.POSITIVE_INFINITY) this.validUntil = startedAt + this.deps.expiryInMs;
    this.holding.add(project);
  }

  /**
   * Renews this owner's holds and sweeps expired ones, at most every third of the expiry. Returns
   * true when the holds had to be forfeited (not renewed in time): the caller drops what it holds
   * locally under the old name.
   */
  async maintain(): Promise<boolean> {
    const startedAt = this.deps.clock.nowInMs();
    if (startedAt - this.lastMaintenanceAt < this.deps.expiryInMs / 3) return this.forfeitIfLate(startedAt);
    this.lastMaintenanceAt = startedAt;
    let renewedAll = true;
    for (const project of this.holding) {
      try {
        await this.deps.store.renewHolds(project, this.owner, this.expiresAt(startedAt));
      } catch (error) {
        renewedAll = false;
        this.deps.logger.warn("holds not renewed", { project, error: ensureError(error).name });
      }
    }
    if (renewedAll) this.validUntil = this.holding.size === 0 ? Number.POSITIVE_INFINITY : startedAt + this.deps.expiryInMs;
    for (const project of this.deps.sweptProjects()) await this.reclaim(project);
    return this.forfeitIfLate(this.deps.clock.nowInMs());
  }

  private readonly sweptOnRefusalAt = new Map<string, number>();

  /**
   * Before a budget refusal: sweeps the project unless that was done within the last third of the
   * expiry (a spent budget refuses every request; one range query per request would be the cost).
   */
  async reclaimBeforeRefusal(project: string): Promise<readonly ReclaimedHold[]> {
    const nowInMs = this.deps.clock.nowInMs();
    const last = this.sweptOnRefusalAt.get(project);
    if (last !== undefined && nowInMs - last < this.deps.expiryInMs / 3) return [];
    this.sweptOnRefusalAt.set(project, nowInMs);
    return this.reclaim(project);
  }

  /** Gives back the expired holds of one project (of any owner); never throws. */
  async reclaim(project: string): Promise<readonly ReclaimedHold[]> {
    try {
      const reclaimed = await this.deps.store.reclaimExpiredHolds(project, this.deps.clock.nowInMs());
      for (const hold of reclaimed) this.deps.logger.warn("expired hold given back", { project, owner: hold.owner, counter: hold.key });
      return reclaimed;
    } catch (error) {
      this.deps.logger.warn("expired holds not swept", { project, error: ensureError(error).name });
      return [];
    }
  }

  private forfeitIfLate(nowInMs: number): boolean {
    if (nowInMs < this.validUntil - this.deps.expiryInMs / 3) return false;
    this.deps.logger.error("holds not renewed in time: forfeited, continuing under a new owner name", { owner: this.owner });
    this.incarnation++;
    this.holding.clear();
    this.validUntil = Number.POSITIVE_INFINITY;
    return true;
  }
}
