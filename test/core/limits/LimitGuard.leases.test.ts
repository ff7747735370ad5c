import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import { silentLogger } from "../../../src/core/logger.js";
import { projectPeriodKey, projectScope, requestsKey, tokensKey } from "../../../src/core/limits/counterKeys.js";
import { LEASE_NEXT_WINDOWS_AHEAD_IN_MS, LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { type ApplyCountersOptions, type CounterDelta, type CounterValues } from "../../../src/core/limits/UsageCounterStore.js";
import { MINUTE_IN_MS, windowsAt } from "../../../src/core/limits/windows.js";
import { type Policy } from "../../../src/core/policy/schema.js";
import { usdToMicros } from "../../../src/core/pricing/priceUsage.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

const START = Date.UTC(2026, 2, 10, 12, 0, 15);
/** The first instant of the minute after START's. */
const NEXT_MINUTE_AT = Date.UTC(2026, 2, 10, 12, 1, 0);

/** Instances of the app: each its own guard (leases, pending settlements), all on one store. */
function instances(policy: Policy, count: number, options: { leaseFraction?: number; settleEveryInMs?: number; startAt?: number; holdExpiryInMs?: number } = {}) {
  const store = new InMemoryUsageCounterStore();
  const clock = new ManualClock(options.startAt ?? START);
  const guards = Array.from(
    { length: count },
    () =>
      new LimitGuard({
        store,
        clock,
        policy,
        logger: silentLogger,
        leaseFraction: options.leaseFraction ?? 0.05,
        settleEveryInMs: options.settleEveryInMs ?? 1000,
        ...(options.holdExpiryInMs === undefined ? {} : { holdExpiryInMs: options.holdExpiryInMs }),
      }),
  );
  const input = reserveInputFor(policy, { withServiceAccount: false });
  const counter = async (key: string): Promise<CounterValues> => {
    for await (const row of store.list("proj", key)) if (row.key === key) return row.values;
    return {};
  };
  return { store, clock, guards, input, counter };
}

/**
 * A caller keeps going up to the boundary at `at` (a flush after each request, as the app's timer
 * would), then `burst` requests arrive together just after it: the first of them and the store calls they made.
 */
async function throughBoundary({ store, clock, input }: ReturnType<typeof instances>, guard: LimitGuard, at: number, burst = 1) {
  for (const ahead of [-1_500, -500, -100]) {
    clock.set(at + ahead);
    await guard.reserve(input());
    await guard.flush();
  }
  clock.set(at + 20);
  const calls = store.applyCalls;
  const [first] = await Promise.all(Array.from({ length: burst }, () => guard.reserve(input())));
  if (first === undefined) throw new Error("no request");
  return { first, storeCalls: store.applyCalls - calls };
}

/** The fake store, recording which of its methods were called (each one is at least one Table call in the app). */
class CallRecordingStore extends InMemoryUsageCounterStore {
  readonly calls: string[] = [];
  override apply(partition: string, deltas: readonly CounterDelta[], options?: ApplyCountersOptions) {
    this.calls.push("apply");
    return super.apply(partition, deltas, options);
  }
  override list(partition: string, keyPrefix: string) {
    this.calls.push("list");
    return super.list(partition, keyPrefix);
  }
  override renewHolds(partition: string, owner: string, expiresAtMs: number) {
    this.calls.push("renewHolds");
    return super.renewHolds(partition, owner, expiresAtMs);
  }
  override reclaimExpiredHolds(partition: string, nowInMs: number) {
    this.calls.push("reclaimExpiredHolds");
    return super.reclaimExpiredHolds(partition, nowInMs);
  }
}

async function admitted(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return true;
  } catch (error) {
    if (isPalisadeError(error) && error.status === 429) return false;
    throw error;
  }
}

describe("LimitGuard with leases", () => {
  it("admits most requests from a lease, without a store round trip", async () => {
    const { store, guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: 1000 } }), 1);
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    const first = await guard.reserve(input());
    expect(store.applyCalls).toBe(1);
    // The lease is committed: the store counts the request plus 5% of the limit (50) ahead.
    expect((await counter(requestsKey(windowsAt(START).minute, projectScope)))["requests"]).toBe(51);
    expect(first.headers["x-ratelimit-remaining-requests"]).toBe("999");
    for (let index = 0; index < 25; index++) await guard.reserve(input());
    expect(store.applyCalls).toBe(1);
    const next = await guard.reserve(input());
    expect(next.headers["x-ratelimit-remaining-requests"]).toBe("973");
  });

  it("tops a lease up before it runs out, so the requests that follow never wait for the store", async () => {
    const { store, guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: 1000 } }), 1);
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    await guard.reserve(input()); // 1 + a lease of 50
    // From now on every store round trip is held open until the test lets it through.
    const held: (() => void)[] = [];
    store.beforeApply = () => new Promise<void>((resolve) => held.push(resolve));
    const settledWithin = async (promise: Promise<unknown>): Promise<"admitted" | "waiting"> => Promise.race([promise.then(() => "admitted" as const), new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 20))]);
    // 26 requests bring the lease under half (24 left): the last one starts a top-up and is not held by it.
    for (let index = 0; index < 26; index++) expect(await settledWithin(guard.reserve(input()))).toBe("admitted");
    expect(store.applyCalls).toBe(2);
    expect(held).toHaveLength(1);
    // The rest of the lease admits while the top-up is in flight; only one top-up is.
    for (let index = 0; index < 24; index++) expect(await settledWithin(guard.reserve(input()))).toBe("admitted");
    expect(store.applyCalls).toBe(2);
    // The lease is used up: the next request waits for the top-up in flight rather than starting a round trip of its own.
    const waiting = guard.reserve(input());
    expect(await settledWithin(waiting)).toBe("waiting");
    expect(store.applyCalls).toBe(2);
    held.shift()?.();
    expect(await settledWithin(waiting)).toBe("admitted");
    store.beforeApply = null;
    // The top-up was a lease only (no request of its own): the store counts 51 + 50 (minus nothing handed back yet).
    expect((await counter(requestsKey(windowsAt(START).minute, projectScope)))["requests"]).toBe(101);
    await guard.close();
    expect((await counter(requestsKey(windowsAt(START).minute, projectScope)))["requests"]).toBe(52);
  });

  it("waits at shutdown for a top-up in flight, and hands it back with the rest", async () => {
    const { store, guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: 1000 } }), 1);
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    await guard.reserve(input());
    const held: (() => void)[] = [];
    store.beforeApply = () => new Promise<void>((resolve) => held.push(resolve));
    for (let index = 0; index < 26; index++) await guard.reserve(input()); // the 26th starts a top-up, held open
    expect(held).toHaveLength(1);
    store.beforeApply = null;
    const closed = guard.close();
    held.shift()?.();
    await closed;
    expect((await counter(requestsKey(windowsAt(START).minute, projectScope)))["requests"]).toBe(27);
  });

  it("leases what a burst of waiting requests needs, so a burst costs a couple of rounds, not one per lease", async () => {
    // A lease ahead of 0.1% of 1,000 is one request: without counting the waiting ones, 50 requests would take ~25 rounds.
    const { store, guards, input } = instances(limitsPolicy({ limits: { requestsPerMinute: 1000 } }), 1, { leaseFraction: 0.001 });
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => admitted(guard.reserve(input()))));
    expect(outcomes.every(Boolean)).toBe(true);
    expect(store.applyCalls).toBeLessThanOrEqual(3);
  });

  it("never admits more than the limit across instances, whatever the interleaving, and hands unused leases back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat({ max: 3 }), { minLength: 20, maxLength: 150 }), fc.double({ min: 0.01, max: 0.5, noNaN: true }), async (limit, order, fraction) => {
        const { guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: limit } }), 3, { leaseFraction: fraction });
        // 0-2: a request to that instance; 3: instance 0 flushes (hands idle leases back) meanwhile.
        const outcomes = await Promise.all(
          order.map((which) => {
            const guard = guards[which % 3];
            if (!guard) throw new Error("no guard");
            return which === 3 ? guard.flush().then(() => null) : admitted(guard.reserve(input()));
          }),
        );
        const count = outcomes.filter((outcome) => outcome === true).length;
        expect(count).toBeLessThanOrEqual(limit);
        // Demand exceeded the limit on every instance only if each had more than `limit` requests;
        // at the least, the first `limit` requests in arrival order fit.
        expect(count).toBeGreaterThanOrEqual(Math.min(limit, order.length) > 0 ? 1 : 0);
        for (const guard of guards) await guard.close();
        // After every instance handed its leases back, the store counts exactly the admitted requests.
        expect((await counter(requestsKey(windowsAt(START).minute, projectScope)))["requests"] ?? 0).toBe(count);
      }),
      { numRuns: 60, seed: 20261123 },
    );
  });

  it("holds request and token limits together, and after close the store holds exactly what was admitted", async () => {
    const request = fc.record({ instance: fc.nat({ max: 3 }), prompt: fc.integer({ min: 1, max: 400 }) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 500, max: 5000 }), fc.array(request, { minLength: 10, maxLength: 120 }), async (rpm, tpm, requests) => {
        const { guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: rpm, tokensPerMinute: tpm } }), 3, { leaseFraction: 0.3 });
        const outcomes = await Promise.all(
          requests.map(({ instance, prompt }) => {
            const guard = guards[instance % 3];
            if (!guard) throw new Error("no guard");
            if (instance === 3) return guard.flush().then(() => 0);
            return admitted(guard.reserve(input({ estimatedPromptTokens: prompt, maxOutputTokens: 10 }))).then((ok) => (ok ? prompt + 10 : -1));
          }),
        );
        const admittedTokens = outcomes.filter((tokens) => tokens > 0);
        const tokens = admittedTokens.reduce((sum, value) => sum + value, 0);
        expect(admittedTokens.length).toBeLessThanOrEqual(rpm);
        expect(tokens).toBeLessThanOrEqual(tpm);
        for (const guard of guards) await guard.close();
        const minute = windowsAt(START).minute;
        expect((await counter(requestsKey(minute, projectScope)))["requests"] ?? 0).toBe(admittedTokens.length);
        expect((await counter(tokensKey(minute, projectScope)))["reserved"] ?? 0).toBe(tokens);
      }),
      { numRuns: 80, seed: 11 },
    );
  });

  it("never admits more than a window's limit while minutes, a day and a month turn, with the next windows leased ahead, and the store agrees", async () => {
    // Rounds run one after another, the steps of a round concurrently: a request to an instance,
    // its flush, its timer leasing the next windows (the clock moved to that moment), or time passing.
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("reserve" as const), instance: fc.nat({ max: 2 }), prompt: fc.integer({ min: 1, max: 400 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("flush" as const), instance: fc.nat({ max: 2 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("ahead" as const), instance: fc.nat({ max: 2 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
    );
    // 90 s before a day and a month end (31 March, UTC): most runs see both turn.
    const startAt = Date.UTC(2026, 3, 1) - 90_000;
    const leasedAhead = { minute: 0, day: 0, month: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 500, max: 5000 }),
        // A request reserves 110-1,100 micro-dollars: budgets of 5-40 thousand, the month's up to 2.5 days' worth.
        fc.integer({ min: 5_000, max: 40_000 }),
        fc.double({ min: 1, max: 2.5, noNaN: true }),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        fc.array(fc.array(step, { minLength: 1, maxLength: 8 }), { minLength: 5, maxLength: 40 }),
        async (rpm, tpm, dailyMicros, monthDays, fraction, rounds) => {
          const budget = { dailyUsd: dailyMicros / 1_000_000, monthlyUsd: Math.round(dailyMicros * monthDays) / 1_000_000 };
          const policy = limitsPolicy({ limits: { requestsPerMinute: rpm, tokensPerMinute: tpm }, budget });
          // Holds outlive the run: no instance is taken for dead, so what is admitted stays held.
          const { clock, guards, input, counter } = instances(policy, 3, { leaseFraction: fraction, startAt, holdExpiryInMs: 30 * 86_400_000 });
          const admittedIn = new Map<number, { requests: number; tokens: number }>();
          const spentIn = new Map<string, number>();
          for (const round of rounds) {
            await Promise.all(
              round.map(async (next) => {
                if (next.kind === "advance") {
                  clock.advance(next.ms);
                  return;
                }
                const guard = guards[next.instance];
                if (!guard) throw new Error("no guard");
                if (next.kind === "flush") {
                  await guard.flush();
                  return;
                }
                if (next.kind === "ahead") {
                  const current = windowsAt(clock.nowInMs());
                  clock.set(Math.max(clock.nowInMs(), (current.minute + 1) * MINUTE_IN_MS - LEASE_NEXT_WINDOWS_AHEAD_IN_MS));
                  await guard.leaseNextWindows();
                  // Still before the boundary, the next windows' counts can only be leases taken ahead.
                  if (windowsAt(clock.nowInMs()).minute !== current.minute) return;
                  const after = windowsAt((current.minute + 1) * MINUTE_IN_MS);
                  if (((await counter(requestsKey(after.minute, projectScope)))["requests"] ?? 0) > 0) leasedAhead.minute++;
                  for (const period of ["day", "month"] as const) {
                    if (after[period] !== current[period] && ((await counter(projectPeriodKey(period, after)))["usdReserved"] ?? 0) > 0) leasedAhead[period]++;
                  }
                  return;
                }
                try {
                  const reservation = await guard.reserve(input({ estimatedPromptTokens: next.prompt, maxOutputTokens: 10 }));
                  const counted = admittedIn.get(reservation.windows.minute) ?? { requests: 0, tokens: 0 };
                  admittedIn.set(reservation.windows.minute, { requests: counted.requests + 1, tokens: counted.tokens + next.prompt + 10 });
                  for (const key of [projectPeriodKey("day", reservation.windows), projectPeriodKey("month", reservation.windows)]) {
                    spentIn.set(key, (spentIn.get(key) ?? 0) + reservation.reservedUsdMicros);
                  }
                } catch (error) {
                  if (!isPalisadeError(error) || error.status !== 429) throw error;
                }
              }),
            );
          }
          for (const counted of admittedIn.values()) {
            expect(counted.requests).toBeLessThanOrEqual(rpm);
            expect(counted.tokens).toBeLessThanOrEqual(tpm);
          }
          for (const [key, micros] of spentIn) expect(micros).toBeLessThanOrEqual(key.startsWith("R|d|") ? dailyMicros : usdToMicros(budget.monthlyUsd));
          for (const guard of guards) await guard.close();
          // Leases of finished minutes are dropped, not handed back: the store holds at least what was
          // admitted there, never more than the limit. From the current minute on, exactly what was admitted.
          const current = windowsAt(clock.nowInMs());
          for (const minute of new Set([...admittedIn.keys(), current.minute, current.minute + 1])) {
            const counted = admittedIn.get(minute) ?? { requests: 0, tokens: 0 };
            const requests = (await counter(requestsKey(minute, projectScope)))["requests"] ?? 0;
            const tokens = (await counter(tokensKey(minute, projectScope)))["reserved"] ?? 0;
            expect(requests).toBeLessThanOrEqual(rpm);
            expect(tokens).toBeLessThanOrEqual(tpm);
            if (minute >= current.minute) {
              expect(requests).toBe(counted.requests);
              expect(tokens).toBe(counted.tokens);
            } else {
              expect(requests).toBeGreaterThanOrEqual(counted.requests);
              expect(tokens).toBeGreaterThanOrEqual(counted.tokens);
            }
          }
          // Budget leases are held, so they are handed back even when their day or month is over:
          // every day and month row, the one leased ahead included, holds exactly what was admitted in it.
          const after = windowsAt((current.minute + 1) * MINUTE_IN_MS);
          const periods = [startAt, clock.nowInMs(), after.minute * MINUTE_IN_MS].flatMap((at) => [projectPeriodKey("day", windowsAt(at)), projectPeriodKey("month", windowsAt(at))]);
          for (const key of new Set([...spentIn.keys(), ...periods])) expect((await counter(key))["usdReserved"] ?? 0).toBe(spentIn.get(key) ?? 0);
        },
      ),
      { numRuns: 120, seed: 20261207 },
    );
    // The runs did lease minutes, the day and the month ahead (the property is about them, not only about windows turning).
    expect(leasedAhead.minute).toBeGreaterThan(0);
    expect(leasedAhead.day).toBeGreaterThan(0);
    expect(leasedAhead.month).toBeGreaterThan(0);
  });

  it("admits exactly the limit when every instance has more callers than the limit", async () => {
    const { guards, input } = instances(limitsPolicy({ limits: { requestsPerMinute: 100 } }), 4);
    const calls = Array.from({ length: 1000 }, (_, index) => guards[index % 4]?.reserve(input()) ?? Promise.reject(new Error("no guard")));
    const outcomes = await Promise.all(calls.map(admitted));
    expect(outcomes.filter(Boolean)).toHaveLength(100);
  });

  it("goes exact near the limit: the last requests each commit their own need", async () => {
    const { store, guards, input } = instances(limitsPolicy({ limits: { requestsPerMinute: 20 } }), 1, { leaseFraction: 0.5 });
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    for (let index = 0; index < 20; index++) await guard.reserve(input());
    const before = store.applyCalls;
    expect(await admitted(guard.reserve(input()))).toBe(false);
    // The refusal was decided by the store (committed state), not by a local guess.
    expect(store.applyCalls).toBe(before + 1);
  });

  it("writes settlements together, once the interval has passed, and they add up", async () => {
    const { store, clock, guards, input, counter } = instances(limitsPolicy({ budget: { dailyUsd: 100 } }), 1);
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    const reservations = [];
    for (let index = 0; index < 10; index++) reservations.push(await guard.reserve(input()));
    const afterReserve = store.applyCalls;
    for (const reservation of reservations.slice(0, 9)) expect((await guard.settle(reservation, { inputTokens: 100, outputTokens: 50 })).recorded).toBe(true);
    expect(store.applyCalls).toBe(afterReserve);
    const day = projectPeriodKey("day", windowsAt(START));
    expect((await counter(day))["usd"]).toBeUndefined();
    clock.advance(1000);
    const last = reservations[9];
    if (!last) throw new Error("no reservation");
    await guard.settle(last, { inputTokens: 100, outputTokens: 50 });
    expect(store.applyCalls).toBe(afterReserve + 1);
    // Ten requests at $0.00075 each (100 in at $2.50/1M + 50 out at $10/1M).
    expect(await counter(day)).toMatchObject({ usd: 7500, requests: 10 });
    await guard.close();
    expect((await counter(day))["usdReserved"]).toBe(0);
  });

  it("keeps usage pending when the store fails, and writes it with the next flush", async () => {
    const { store, guards, input, counter } = instances(limitsPolicy({ budget: { dailyUsd: 100 } }), 1, { settleEveryInMs: 0 });
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    const reservation = await guard.reserve(input());
    store.failWith = new Error("503 Service Unavailable");
    expect((await guard.settle(reservation, { inputTokens: 100, outputTokens: 50 })).recorded).toBe(false);
    store.failWith = null;
    await guard.flush();
    expect(await counter(projectPeriodKey("day", windowsAt(START)))).toMatchObject({ usd: 750, requests: 1 });
  });

  it("reports budget thresholds crossed by a timed flush, with the project they belong to", async () => {
    // $0.01 a day, warn at 50%: 8 settlements of $0.00075 cross $0.005 within one flush.
    const { clock, guards, input } = instances(limitsPolicy({ budget: { dailyUsd: 0.01, warnAtFraction: 0.5 } }), 1, { leaseFraction: 0 });
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    for (let index = 0; index < 8; index++) expect((await guard.settle(await guard.reserve(input()), { inputTokens: 100, outputTokens: 50 })).warnings).toEqual([]);
    clock.advance(5000);
    expect(await guard.flush()).toEqual([{ project: "proj", period: "day", fraction: 0.5, spentUsd: 0.006, budgetUsd: 0.01 }]);
    expect(await guard.flush()).toEqual([]);
  });

  it("leases the next minute before it starts, so its first request calls no store (rate limits and budget)", async () => {
    const setup = instances(limitsPolicy({ limits: { requestsPerMinute: 1000, tokensPerMinute: 1_000_000 }, budget: { dailyUsd: 100 } }), 1);
    const { store, clock, guards, input, counter } = setup;
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    await guard.reserve(input()); // leases this minute's windows and the day's budget
    clock.set(NEXT_MINUTE_AT - 5_000);
    await guard.leaseNextWindows(); // earlier than twice the lead: nothing yet
    expect(store.applyCalls).toBe(1);
    clock.set(NEXT_MINUTE_AT - 2_000);
    await guard.leaseNextWindows();
    expect(store.applyCalls).toBe(2);
    await guard.leaseNextWindows(); // already leased: not again
    expect(store.applyCalls).toBe(2);
    const next = windowsAt(NEXT_MINUTE_AT).minute;
    expect((await counter(requestsKey(next, projectScope)))["requests"]).toBe(50);
    expect((await counter(tokensKey(next, projectScope)))["reserved"]).toBe(50_000);
    // The flushes before the boundary keep the lease of a minute that has not started.
    const { first, storeCalls } = await throughBoundary(setup, guard, NEXT_MINUTE_AT);
    expect(first.windows.minute).toBe(next);
    expect(storeCalls).toBe(0);
    expect(first.headers["x-ratelimit-remaining-requests"]).toBe("999");
    await guard.close();
    expect((await counter(requestsKey(next, projectScope)))["requests"]).toBe(1);
  });

  it.each([
    { turning: "day", at: Date.UTC(2026, 2, 11) },
    { turning: "month", at: Date.UTC(2026, 3, 1) },
  ] as const)("leases the next $turning's budget before it starts, so the first requests after the boundary call no store", async ({ turning, at }) => {
    const policy = limitsPolicy({ limits: { requestsPerMinute: 1000, tokensPerMinute: 1_000_000 }, budget: { dailyUsd: 100, monthlyUsd: 1000 } });
    const setup = instances(policy, 1);
    const { clock, guards, input, counter } = setup;
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    clock.set(at - 45_000);
    await guard.reserve(input()); // leases this minute's windows, the day's and the month's budget
    clock.set(at - 2_000);
    await guard.leaseNextWindows();
    const after = windowsAt(at);
    const nextBudget = projectPeriodKey(turning, after);
    // A lease only, held by this instance: 5% of the budget (in micro-dollars), no request's cost.
    expect((await counter(nextBudget))["usdReserved"]).toBe((turning === "day" ? 100 : 1000) * 1_000_000 * 0.05);
    // Ten arrive together: none waits for an acquisition (without the lease ahead, all ten wait for one).
    const { first, storeCalls } = await throughBoundary(setup, guard, at, 10);
    expect(first.windows[turning]).toBe(after[turning]);
    expect(storeCalls).toBe(0);
    await guard.close();
    // Once every lease is handed back the new period holds exactly the ten requests' reserved cost.
    expect((await counter(projectPeriodKey("day", after)))["usdReserved"]).toBe(10 * first.reservedUsdMicros);
    expect((await counter(projectPeriodKey("month", after)))["usdReserved"]).toBe((turning === "month" ? 10 : 14) * first.reservedUsdMicros);
  });

  it("hands an unused lease of the next minute back once that minute has had a flush interval", async () => {
    const { clock, guards, input, counter } = instances(limitsPolicy({ limits: { requestsPerMinute: 1000 } }), 1);
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    await guard.reserve(input());
    clock.set(NEXT_MINUTE_AT - 2_000);
    await guard.leaseNextWindows();
    const next = requestsKey(windowsAt(NEXT_MINUTE_AT).minute, projectScope);
    expect((await counter(next))["requests"]).toBe(50);
    // Kept by the flushes before its minute and by the first one in it (as a new lease would be).
    for (const at of [-1_000, 0]) {
      clock.set(NEXT_MINUTE_AT + at);
      await guard.flush();
    }
    expect((await counter(next))["requests"]).toBe(50);
    clock.set(NEXT_MINUTE_AT + 1_000);
    await guard.flush();
    expect((await counter(next))["requests"]).toBe(0);
  });

  it("a lease of the next minute that the store refuses turns nothing exact: that minute still leases", async () => {
    const { store, clock, guards, input } = instances(limitsPolicy({ limits: { requestsPerMinute: 100 } }), 1, { leaseFraction: 0.2 });
    const [guard] = guards;
    if (!guard) throw new Error("no guard");
    await guard.reserve(input());
    const next = requestsKey(windowsAt(NEXT_MINUTE_AT).minute, projectScope);
    // Other instances hold 90 of the next minute's 100: no room for a lease of 20.
    await store.apply("proj", [{ key: next, add: { requests: 90 } }]);
    clock.set(NEXT_MINUTE_AT - 2_000);
    const before = store.applyCalls;
    await guard.leaseNextWindows();
    expect(store.applyCalls).toBe(before + 1);
    // They hand back what they held before the minute starts.
    await store.apply("proj", [{ key: next, add: { requests: -90 } }]);
    clock.set(NEXT_MINUTE_AT + 100);
    await guard.reserve(input()); // acquires on its path, with a lease
    const acquired = store.applyCalls;
    expect(acquired).toBe(before + 3);
    await guard.reserve(input());
    expect(store.applyCalls).toBe(acquired);
  });

  it("an idle instance's flush calls the store for nothing: only the hold renewal and sweep, every third of the expiry", async () => {
    const policy = limitsPolicy({ limits: { requestsPerMinute: 1000 }, budget: { dailyUsd: 100 } });
    const store = new CallRecordingStore();
    const clock = new ManualClock(START);
    const guard = new LimitGuard({ store, clock, policy, logger: silentLogger, leaseFraction: 0.05, settleEveryInMs: 1000 });
    const input = reserveInputFor(policy, { withServiceAccount: false });
    await guard.settle(await guard.reserve(input()), { inputTokens: 100, outputTokens: 50 });
    // Traffic stops. The first flush writes the settlement, renews and sweeps; the second hands the idle leases back.
    clock.advance(1000);
    await guard.flush();
    clock.advance(1000);
    await guard.flush();
    expect(store.calls).toEqual(["apply", "apply", "renewHolds", "reclaimExpiredHolds", "apply"]);
    store.calls.length = 0;
    // The timer keeps running each second: nothing changed, nothing to write.
    for (let second = 3; second <= 20; second++) {
      clock.advance(1000);
      await guard.flush();
    }
    expect(store.calls).toEqual([]);
    clock.advance(1000); // 20 s (a third of the 60 s expiry) after the last renewal
    await guard.flush();
    expect(store.calls).toEqual(["renewHolds", "reclaimExpiredHolds"]);
  });

  it("hands an idle lease back on the second flush, so another instance can use it", async () => {
    const { guards, input } = instances(limitsPolicy({ limits: { requestsPerMinute: 100 } }), 2, { leaseFraction: 0.2 });
    const [first, second] = guards;
    if (!first || !second) throw new Error("no guards");
    await first.reserve(input()); // commits 1 + a lease of 20
    let admittedBySecond = 0;
    while (await admitted(second.reserve(input()))) admittedBySecond++;
    expect(admittedBySecond).toBe(79);
    await first.flush(); // the lease was used this interval: kept
    expect(await admitted(second.reserve(input()))).toBe(false);
    await first.flush(); // idle since: handed back
    for (let index = 0; index < 20; index++) expect(await admitted(second.reserve(input()))).toBe(true);
    expect(await admitted(second.reserve(input()))).toBe(false);
  });
});
