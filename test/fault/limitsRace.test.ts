import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../local/azurite.js";
import { tableDependencyPolicy } from "../../src/adapters/tables/tableDependencyPolicy.js";
import { TableUsageCounterStore } from "../../src/adapters/tables/TableUsageCounterStore.js";
import { type Clock, ManualClock } from "../../src/core/clock.js";
import { isPalisadeError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/logger.js";
import { FIELD, projectScope, requestsKey, tokensKey } from "../../src/core/limits/counterKeys.js";
import { LimitGuard, type Reservation } from "../../src/core/limits/LimitGuard.js";
import { type CounterValues } from "../../src/core/limits/UsageCounterStore.js";
import { windowsAt } from "../../src/core/limits/windows.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { CircuitBreaker } from "../../src/core/resilience/CircuitBreaker.js";
import { type ChaosOptions, type ChaosProxy, startChaosProxy } from "../support/chaosProxy.js";
import { seededRandom } from "../support/seededRandom.js";
import { limitsPolicy, reserveInputFor } from "../core/limits/policyFixture.js";

/**
 * The guarantee "no limit exceeded", tried as hard as one test process can: four instances of the
 * limit guard (each its own Table client, connection pool and breaker, as separate app instances
 * have), leases and merged settlements on (the defaults), hammer one project's per-minute limits on
 * Azurite, across a minute boundary (a shared manual clock crosses it mid-burst, each instance
 * skewed by up to ±400 ms), with flushes handing leases back meanwhile, releases giving request
 * slots back, and the network in front of Azurite slow, stalling past the try timeout and resetting
 * answers after the write reached the store. Every admission is counted by the minute it was
 * counted in and compared with the limit, and with what the store holds once everything is written.
 */

const RPM = 100;
const TPM = 14_000;
/** Each request reserves 100 prompt + 50 output tokens; a settled one keeps 100 + 20. */
const PROMPT = 100;
const MAX_OUTPUT = 50;
const REAL_OUTPUT = 20;
const CALLERS_PER_INSTANCE = 6;
const CALLS = 560;
/** The manual clock moves this much per call: the minute boundary falls about a quarter into the burst. */
const STEP_IN_MS = 10;
/** Four instances, each with its clock this far off. */
const SKEWS_IN_MS = [-400, -120, 150, 400];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const systemClock: Clock = { nowInMs: () => Date.now() };

let azurite: RunningAzurite;
let tables = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface MinuteTally {
  /** Admitted and counted in the store, less those released (their slot given back). */
  requests: number;
  /** What the admitted requests keep on the token counter: reserved until settled, then the real tokens. */
  tokens: number;
}

interface HammerResult {
  readonly byMinute: Map<number, MinuteTally>;
  /** Admitted without being counted (the store was unreachable and the project fails open). */
  readonly uncounted: number;
  readonly refused: number;
  readonly failedClosed: number;
  readonly store: Map<number, { requests: number; tokens: number; reservedLeft: number }>;
  readonly chaos: ChaosProxy["counts"];
}

function clientOptions(breaker: CircuitBreaker) {
  // The app's Table client settings (composition/tableResilience.ts), with a shorter try timeout.
  return {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
    additionalPolicies: [{ policy: tableDependencyPolicy({ breaker, logger: silentLogger, tryTimeoutInMs: 600 }), position: "perCall" as const }],
  };
}

async function hammer(chaos: ChaosOptions, project: Partial<PolicyInput["projects"][number]> = {}, calls = CALLS): Promise<HammerResult> {
  const table = `LimitsRace${++tables}`;
  const tablePort = Number(new URL(azurite.tableEndpoint).port);
  const proxy = await startChaosProxy({ port: tablePort }, chaos);
  const viaProxy = azurite.connectionString.replace(`:${tablePort}/`, `:${proxy.port}/`);
  const direct = new TableUsageCounterStore(TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true }));
  await direct.createTable();

  const policy = limitsPolicy({ limits: { requestsPerMinute: RPM, tokensPerMinute: TPM }, ...project });
  const input = reserveInputFor(policy, { withServiceAccount: false });
  const start = Date.UTC(2026, 11, 7, 4, 0, 58, 500);
  const clock = new ManualClock(start);
  const guards = SKEWS_IN_MS.map((skew, index) => {
    const breaker = new CircuitBreaker(systemClock, { openForInMs: 150 });
    const store = new TableUsageCounterStore(TableClient.fromConnectionString(viaProxy, table, clientOptions(breaker)), { random: seededRandom(chaos.seed + index) });
    const skewed: Clock = { nowInMs: () => clock.nowInMs() + skew };
    return new LimitGuard({ store, clock: skewed, policy, logger: silentLogger, leaseFraction: 0.05, settleEveryInMs: 200, owner: `instance-${index}` });
  });

  const byMinute = new Map<number, MinuteTally>();
  const tally = (minute: number): MinuteTally => {
    const found = byMinute.get(minute) ?? { requests: 0, tokens: 0 };
    byMinute.set(minute, found);
    return found;
  };
  let uncounted = 0;
  let refused = 0;
  let failedClosed = 0;
  let next = 0;
  const random = seededRandom(chaos.seed * 7 + 1);

  const finish = async (guard: LimitGuard, reservation: Reservation): Promise<void> => {
    await sleep(random() * 15);
    const counts = tally(reservation.windows.minute);
    if (random() < 0.25) {
      await guard.release(reservation);
      counts.requests--;
      counts.tokens -= PROMPT + MAX_OUTPUT;
    } else {
      await guard.settle(reservation, { inputTokens: PROMPT, outputTokens: REAL_OUTPUT });
      counts.tokens -= MAX_OUTPUT - REAL_OUTPUT;
    }
  };
  const caller = async (guard: LimitGuard): Promise<void> => {
    while (next < calls) {
      next++;
      clock.advance(STEP_IN_MS);
      // Callers arrive spread out in real time too, so the breaker's open spells cover part of the burst, not all of it.
      await sleep(random() * 6);
      let reservation: Reservation;
      try {
        reservation = await guard.reserve(input({ estimatedPromptTokens: PROMPT, maxOutputTokens: MAX_OUTPUT }));
      } catch (error) {
        if (isPalisadeError(error) && error.status === 429) refused++;
        else if (isPalisadeError(error) && error.status === 503) failedClosed++;
        else throw error;
        continue;
      }
      if (!reservation.counted) {
        uncounted++;
        continue;
      }
      const counts = tally(reservation.windows.minute);
      counts.requests++;
      counts.tokens += PROMPT + MAX_OUTPUT;
      await finish(guard, reservation);
    }
  };
  // Each instance's flush timer (UsageFlush in the app): idle leases handed back, settlements written.
  let flushing = true;
  const flushers = guards.map(async (guard) => {
    while (flushing) {
      await sleep(50 + random() * 100);
      await guard.flush();
    }
  });

  await Promise.all(guards.flatMap((guard) => Array.from({ length: CALLERS_PER_INSTANCE }, () => caller(guard))));
  flushing = false;
  await Promise.all(flushers);
  // A calm network for the last writes: everything pending must reach the store.
  proxy.configure({ latencyInMs: 0, stallRate: 0, resetRate: 0 });
  await sleep(600);
  for (const guard of guards) await guard.close();

  const store = new Map<number, { requests: number; tokens: number; reservedLeft: number }>();
  for (const minute of byMinute.keys()) {
    const rows = new Map<string, CounterValues>();
    for await (const row of direct.list("proj", `L|m|${minute}|`)) rows.set(row.key, row.values);
    const requests = rows.get(requestsKey(minute, projectScope))?.[FIELD.requests] ?? 0;
    const tokenRow = rows.get(tokensKey(minute, projectScope));
    store.set(minute, { requests, tokens: (tokenRow?.[FIELD.reserved] ?? 0) + (tokenRow?.[FIELD.settled] ?? 0), reservedLeft: tokenRow?.[FIELD.reserved] ?? 0 });
  }
  await proxy.stop();
  return { byMinute, uncounted, refused, failedClosed, store, chaos: { ...proxy.counts } };
}

function report(name: string, result: HammerResult): void {
  const minutes = [...result.byMinute].map(([minute, counts]) => ({ minute, ...counts, store: result.store.get(minute) }));
  process.stderr.write(`limitsRace ${name}: ${JSON.stringify({ minutes, uncounted: result.uncounted, refused: result.refused, failedClosed: result.failedClosed, chaos: result.chaos })}\n`);
}

describe("no limit exceeded: four instances, one key, a minute boundary, a bad network", () => {
  it("slow network: every minute admits at most its limit, and the store counts exactly what was admitted", async () => {
    const result = await hammer({ latencyInMs: 4, stallRate: 0, stallInMs: 0, resetRate: 0, seed: 11 });
    report("slow", result);
    const boundary = windowsAt(Date.UTC(2026, 11, 7, 4, 1, 0)).minute;
    // The burst really spanned the boundary: both minutes were filled to their limit.
    expect([...result.byMinute.keys()].sort()).toEqual([boundary - 1, boundary]);
    expect(result.uncounted).toBe(0);
    for (const [minute, counts] of result.byMinute) {
      expect(counts.requests, `minute ${minute}`).toBeLessThanOrEqual(RPM);
      expect(counts.tokens, `minute ${minute}`).toBeLessThanOrEqual(TPM);
    }
    // The minute still running when the instances stopped: every lease handed back, the store holds exactly what was admitted.
    const last = result.byMinute.get(boundary);
    expect(result.store.get(boundary)).toEqual({ requests: last?.requests, tokens: last?.tokens, reservedLeft: 0 });
    // The minute before: leases left when it ended are dropped, not handed back (nobody can use them), so the store may hold more, within the limit.
    const before = result.byMinute.get(boundary - 1);
    const stored = result.store.get(boundary - 1);
    expect(stored?.requests).toBeGreaterThanOrEqual(before?.requests ?? 0);
    expect(stored?.tokens).toBeGreaterThanOrEqual(before?.tokens ?? 0);
    expect(stored?.requests).toBeLessThanOrEqual(RPM);
    expect(stored?.tokens).toBeLessThanOrEqual(TPM);
    expect(result.refused).toBeGreaterThan(0);
  }, 30_000);

  it("stalls past the try timeout and answers reset after the write landed: what is counted never exceeds a limit", async () => {
    const result = await hammer({ latencyInMs: 4, stallRate: 0.01, stallInMs: 800, resetRate: 0.01, seed: 23 });
    report("faulty, fail open", result);
    expect(result.chaos.stalls + result.chaos.resets).toBeGreaterThan(0);
    for (const [minute, counts] of result.byMinute) {
      expect(counts.requests, `minute ${minute}`).toBeLessThanOrEqual(RPM);
      expect(counts.tokens, `minute ${minute}`).toBeLessThanOrEqual(TPM);
      // A write that landed but was reported lost is written again: the store may count more, never less.
      const stored = result.store.get(minute);
      expect(stored?.requests ?? 0, `minute ${minute}`).toBeGreaterThanOrEqual(counts.requests);
      expect(stored?.requests ?? 0, `minute ${minute}`).toBeLessThanOrEqual(RPM);
    }
  }, 30_000);

  it("answers reset after the write landed, limits set to fail closed: nothing uncounted, and no write counted twice the wrong way", async () => {
    const result = await hammer({ latencyInMs: 4, stallRate: 0, stallInMs: 0, resetRate: 0.05, seed: 37 }, { limits: { requestsPerMinute: RPM, tokensPerMinute: TPM, onStoreUnavailable: "fail_closed" } }, 400);
    report("resets, fail closed", result);
    expect(result.chaos.resets).toBeGreaterThan(0);
    expect(result.uncounted).toBe(0);
    for (const [minute, counts] of result.byMinute) {
      expect(counts.requests, `minute ${minute}`).toBeLessThanOrEqual(RPM);
      expect(counts.tokens, `minute ${minute}`).toBeLessThanOrEqual(TPM);
      const stored = result.store.get(minute);
      expect(stored?.requests ?? 0, `minute ${minute}`).toBeGreaterThanOrEqual(counts.requests);
      expect(stored?.tokens ?? 0, `minute ${minute}`).toBeGreaterThanOrEqual(counts.tokens);
    }
  }, 30_000);
});
