import { randomUUID } from "node:crypto";
import { type JsonLogger } from "../adapters/logging/JsonLogger.js";
import { TableUsageCounterStore } from "../adapters/tables/TableUsageCounterStore.js";
import { type Clock } from "../core/clock.js";
import { ensureError } from "../core/errors.js";
import { type UsageFlush } from "../core/gateway/UsageFlush.js";
import { LEASE_NEXT_WINDOWS_AHEAD_IN_MS, LimitGuard } from "../core/limits/LimitGuard.js";
import { type Policy } from "../core/policy/schema.js";
import { beforeEachMinute } from "./beforeEachMinute.js";
import { giveWayToRequests } from "./requestsInFlight.js";
import { type Settings } from "./settings.js";
import { TABLES, type StorageClients } from "./storage.js";

/** The usage counters' table; finished minute windows and stopped writers' marks are pruned as projects are written (no TTL in Table Storage). */
export function createUsageStore(storage: StorageClients, clock: Clock, logger: JsonLogger): TableUsageCounterStore {
  return new TableUsageCounterStore(storage.table(TABLES.usage), {
    housekeeping: {
      now: () => clock.nowInMs(),
      onPruned: (project, pruned) => {
        if (pruned.minuteRows + pruned.marks > 0) logger.info("usage counters pruned", { project, minuteRows: pruned.minuteRows, marks: pruned.marks });
      },
    },
  });
}

export interface LimitGuardDeps {
  readonly settings: Settings;
  readonly store: TableUsageCounterStore;
  readonly clock: Clock;
  readonly policy: Policy;
  readonly logger: JsonLogger;
}

export function createLimitGuard({ settings, store, clock, policy, logger }: LimitGuardDeps): LimitGuard {
  return new LimitGuard({
    store,
    clock,
    policy,
    logger,
    leaseFraction: settings.PALISADE_LIMITS_LEASE_FRACTION,
    settleEveryInMs: settings.PALISADE_LIMITS_SETTLE_EVERY_IN_MS,
    // Unique per process: the name this instance's budget holds are written under.
    owner: `${process.pid}-${randomUUID().slice(0, 8)}`,
    holdExpiryInMs: settings.PALISADE_LIMITS_HOLD_EXPIRY_IN_MS,
  });
}

export interface LimitTimersDeps {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly logger: JsonLogger;
  readonly limits: LimitGuard;
  readonly usageFlush: UsageFlush;
}

/**
 * Starts the limits' timers: settled usage written in rounds and idle leases handed back (also when
 * traffic stops, and this instance's budget holds renewed, those of dead instances given back), and the
 * next minute's windows leased before it starts. `stop` clears both.
 */
export function startLimitTimers({ settings, clock, logger, limits, usageFlush }: LimitTimersDeps): { stop(): void } {
  const settleEveryInMs = settings.PALISADE_LIMITS_SETTLE_EVERY_IN_MS;
  const flushEveryInMs = settleEveryInMs > 0 ? settleEveryInMs : Math.floor(settings.PALISADE_LIMITS_HOLD_EXPIRY_IN_MS / 3);
  // With PALISADE_AUDIT_GIVE_WAY_IN_MS above 0 (off by default), each round first waits for a gap between requests (bounded, light load only).
  const giveWay = giveWayToRequests(settings.PALISADE_AUDIT_GIVE_WAY_IN_MS);
  const usageFlusher = setInterval(
    () =>
      void giveWay()
        .then(() => usageFlush.run())
        .catch((error: unknown) => logger.error("usage flush failed", { error: ensureError(error).name })),
    flushEveryInMs,
  );
  usageFlusher.unref();
  // The counters in use are leased for the windows that start with the next minute (and the next day's or month's
  // budget when that turns too) before it starts: the first requests after the boundary wait for no store round trip.
  const nextWindowsLeaser = beforeEachMinute(clock, LEASE_NEXT_WINDOWS_AHEAD_IN_MS, () =>
    void limits.leaseNextWindows().catch((error: unknown) => logger.error("next windows not leased", { error: ensureError(error).name })),
  );
  return {
    stop() {
      clearInterval(usageFlusher);
      nextWindowsLeaser.stop();
    },
  };
}
