import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { silentLogger } from "../../../src/core/logger.js";
import { projectPeriodKey } from "../../../src/core/limits/counterKeys.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { CounterUsageReader } from "../../../src/core/limits/UsageReader.js";
import { type CounterValues } from "../../../src/core/limits/UsageCounterStore.js";
import { windowsAt } from "../../../src/core/limits/windows.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

/**
 * Issue 18 item 3: budget reserved by an instance that dies (requests in flight, a lease) is held
 * by that instance with an expiry, and comes back once it stops renewing: not at UTC midnight.
 */

const START = Date.UTC(2026, 2, 10, 12, 0, 15);
const EXPIRY = 30_000;
// 100 prompt + 50 output tokens of gpt-4o: 250 + 500 = 750 micro-dollars per reservation.
const policy = limitsPolicy({ budget: { dailyUsd: 0.01 } });
const dayKey = projectPeriodKey("day", windowsAt(START));

function instances(leaseFraction: number) {
  const store = new InMemoryUsageCounterStore();
  const clock = new ManualClock(START);
  const guard = (owner: string): LimitGuard =>
    new LimitGuard({ store, clock, policy, logger: silentLogger, leaseFraction, settleEveryInMs: 1000, owner, holdExpiryInMs: EXPIRY });
  const day = async (): Promise<CounterValues> => {
    for await (const row of store.list("proj", dayKey)) if (row.key === dayKey) return row.values;
    return {};
  };
  return { store, clock, guard, day, input: reserveInputFor(policy, { withServiceAccount: false }) };
}

async function refusedOnBudget(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (error) {
    if (isPalisadeError(error) && error.code === "budget_exceeded") return true;
    throw error;
  }
}

describe.each([
  ["each request commits its own reservation", 0],
  ["with leases", 0.05],
])("LimitGuard holds (%s)", (_label, leaseFraction) => {
  it("gives back what a dead instance held once its holds expire, and shows the holds in the usage report", async () => {
    const { store, clock, guard, day } = instances(leaseFraction);
    const input = reserveInputFor(policy, { withServiceAccount: false });
    const dead = guard("dead");
    const alive = guard("alive");
    for (let index = 0; index < 6; index++) await dead.reserve(input());
    // The dead instance holds at least 6 x 750 (more with a lease); it never settles nor flushes again.
    const held = (await day())["usdReserved"] ?? 0;
    expect(held).toBeGreaterThanOrEqual(4_500);

    const report = await new CounterUsageReader(store).getUsage({ project: "proj", period: "day", date: windowsAt(START).day, asOfInMs: clock.nowInMs() });
    expect(report.holds).toEqual([{ owner: "dead", heldUsd: held / 1_000_000, expiresAt: new Date(START + EXPIRY).toISOString(), expired: false }]);

    // The live instance keeps sweeping; before the expiry nothing comes back.
    clock.advance(EXPIRY - 1_000);
    await alive.flush();
    expect((await day())["usdReserved"]).toBe(held);
    clock.advance(EXPIRY / 3 + 1_000);
    expect((await new CounterUsageReader(store).getUsage({ project: "proj", period: "day", date: windowsAt(START).day, asOfInMs: clock.nowInMs() })).holds[0]?.expired).toBe(true);
    await alive.flush();
    expect((await day())["usdReserved"]).toBe(0);
    // The whole budget is usable again: 13 x 750 = 9,750 of 10,000.
    for (let index = 0; index < 13; index++) await alive.reserve(input());
    expect(await refusedOnBudget(alive.reserve(input()))).toBe(true);
  });

  it("a live instance renews its holds: its in-flight reservations stay held however long they take", async () => {
    const { clock, guard, day, input } = instances(leaseFraction);
    const slow = guard("slow");
    const sweeper = guard("sweeper");
    const reservation = await slow.reserve(input());
    expect((await day())["usdReserved"]).toBeGreaterThanOrEqual(reservation.reservedUsdMicros);
    for (let step = 0; step < 12; step++) {
      clock.advance(EXPIRY / 3);
      await slow.flush();
      await sweeper.flush();
    }
    // Four expiries later the request is still held (an idle lease was handed back meanwhile).
    expect((await day())["usdReserved"]).toBe(reservation.reservedUsdMicros);
    await slow.settle(reservation, { inputTokens: 10, outputTokens: 5 });
    await slow.close();
    expect((await day())["usdReserved"]).toBe(0);
    expect((await day())["usd"]).toBe(10 * 2.5 + 5 * 10);
  });

  it("a refusal on budget sweeps first: expired holds never refuse a request", async () => {
    const { clock, guard, input } = instances(leaseFraction);
    const dead = guard("dead");
    for (let index = 0; index < 13; index++) await dead.reserve(input());
    const fresh = guard("fresh");
    expect(await refusedOnBudget(fresh.reserve(input()))).toBe(true);
    clock.advance(EXPIRY + 1);
    expect(await refusedOnBudget(fresh.reserve(input()))).toBe(false);
  });

  it("an instance that was only cut off never gives back twice what was reclaimed from it", async () => {
    const { store, clock, guard, day, input } = instances(leaseFraction);
    const cutOff = guard("cut-off");
    const other = guard("other");
    const inFlight = await cutOff.reserve(input());
    store.failWith = new Error("partitioned");
    clock.advance(EXPIRY / 3);
    await cutOff.flush();
    clock.advance(EXPIRY / 3);
    await cutOff.flush();
    store.failWith = null;
    clock.advance(EXPIRY / 3 + 1);
    await other.flush();
    expect((await day())["usdReserved"]).toBe(0);
    // Back again: its old reservation settles, taking back nothing; the spend is counted.
    await cutOff.settle(inFlight, { inputTokens: 100, outputTokens: 50 });
    await cutOff.close();
    expect(await day()).toMatchObject({ usdReserved: 0, usd: 750 });
    // And its new reservations are held under a new name.
    await cutOff.reserve(input());
    const holds = (await new CounterUsageReader(store).getUsage({ project: "proj", period: "day", date: windowsAt(START).day, asOfInMs: clock.nowInMs() })).holds;
    expect(holds.map((hold) => hold.owner)).toEqual(["cut-off.1"]);
  });
});
