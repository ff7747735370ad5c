import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { isPalisadeError } from "../../../src/core/errors.js";
import {
  DATA_CLASSES,
  type DataClass,
  ENDPOINT_CLASSES,
  type EndpointClass,
  type EndpointPolicy,
  RESIDENCIES,
  type Residency,
} from "../../../src/core/policy/schema.js";
import { EndpointHealth, type FailureKind } from "../../../src/core/routing/EndpointHealth.js";
import { type ClassifiedAttemptError, executeWithFailover } from "../../../src/core/routing/executeWithFailover.js";
import { planRoute } from "../../../src/core/routing/planRoute.js";
import { endpoint, policyWith, projectOf } from "./fixtures.js";

/** The rules as the issue states them, written independently of the implementation. */
const ALLOWED: Readonly<Record<DataClass, readonly EndpointClass[]>> = {
  public: ["cached", "standard", "zdr"],
  internal: ["standard", "zdr"],
  confidential: ["standard", "zdr"],
  pii: ["zdr"],
  phi: ["zdr"],
};
function oracleCompliant(target: EndpointPolicy, dataClass: DataClass, required: Residency): boolean {
  if (!ALLOWED[dataClass].includes(target.class)) return false;
  if (!target.deployments.includes("gpt-4o-2024-08-06")) return false;
  // A global endpoint processes data anywhere: only global requests may use it.
  if (target.residency === "global") return required === "global";
  return required === "global" || target.residency === required;
}
function oracleNarrowingAllowed(project: Residency, requested: Residency | undefined): boolean {
  return requested === undefined || requested === project || project === "global";
}

const breaker = { consecutiveFailures: 2, errorRateThreshold: 0.5, windowInMs: 5_000, minimumRequests: 4, cooldownInMs: 1_000 };
const failureKinds: readonly FailureKind[] = ["rate_limited", "server_error", "timeout", "connection"];
type Outcome = "ok" | FailureKind;

const endpointArb = fc.record({
  residency: fc.constantFrom(...RESIDENCIES),
  class: fc.constantFrom(...ENDPOINT_CLASSES),
  priority: fc.integer({ min: 0, max: 5 }),
  servesModel: fc.boolean(),
  outcome: fc.constantFrom<Outcome>("ok", "ok", ...failureKinds),
});
const historyEventArb = fc.record({
  endpointIndex: fc.nat({ max: 7 }),
  event: fc.oneof(
    fc.record({ type: fc.constant("success" as const), latencyInMs: fc.integer({ min: 1, max: 2_000 }) }),
    fc.record({ type: fc.constant("failure" as const), kind: fc.constantFrom(...failureKinds), retryAfterInMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }) }),
  ),
  advanceInMs: fc.integer({ min: 0, max: 800 }),
});
const scenarioArb = fc.record({
  endpoints: fc.array(endpointArb, { minLength: 1, maxLength: 8 }),
  projectResidency: fc.constantFrom(...RESIDENCIES),
  requestedResidency: fc.option(fc.constantFrom(...RESIDENCIES), { nil: undefined }),
  dataClass: fc.constantFrom(...DATA_CLASSES),
  history: fc.array(historyEventArb, { maxLength: 30 }),
  maxAttempts: fc.integer({ min: 1, max: 10 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

class ScriptedFailure extends Error {
  constructor(readonly classified: ClassifiedAttemptError) {
    super(classified.kind);
  }
}

async function run(scenario: Scenario, maxAttempts: number) {
  const endpoints = scenario.endpoints.map((spec, index) =>
    endpoint({
      id: `ep-${index}`,
      residency: spec.residency,
      class: spec.class,
      priority: spec.priority,
      deployments: spec.servesModel ? ["gpt-4o-2024-08-06"] : ["other-model"],
    }),
  );
  const policy = policyWith(endpoints);
  const project = projectOf(policy, scenario.projectResidency);
  const clock = new ManualClock();
  const health = new EndpointHealth(clock, breaker);
  for (const { endpointIndex, event, advanceInMs } of scenario.history) {
    const id = `ep-${endpointIndex % scenario.endpoints.length}`;
    if (event.type === "success") health.recordSuccess(id, event.latencyInMs);
    else health.recordFailure(id, event.kind, event.retryAfterInMs);
    clock.advance(advanceInMs);
  }
  const required = scenario.requestedResidency ?? scenario.projectResidency;
  const compliant = policy.endpoints.filter((candidate) => oracleCompliant(candidate, scenario.dataClass, required));
  const availableBefore = new Set(compliant.filter((candidate) => health.isAvailable(candidate.id)).map((candidate) => candidate.id));
  const outcomeOf = (id: string): Outcome => scenario.endpoints[Number(id.slice(3))]?.outcome ?? "ok";

  const attempted: EndpointPolicy[] = [];
  const failovers: [EndpointPolicy, EndpointPolicy][] = [];
  let result: Awaited<ReturnType<typeof executeWithFailover<string>>> | undefined;
  let error: unknown;
  try {
    const plan = planRoute({ policy, project, model: "gpt-4o", dataClass: scenario.dataClass, requestedResidency: scenario.requestedResidency }, health);
    for (const candidate of plan.candidates) expect(oracleCompliant(candidate, scenario.dataClass, required)).toBe(true);
    expect(plan.candidates).toHaveLength(compliant.length);
    result = await executeWithFailover(
      plan,
      async (target) => {
        attempted.push(target);
        clock.advance(50);
        const outcome = outcomeOf(target.id);
        if (outcome !== "ok") throw new ScriptedFailure({ kind: outcome, retryAfterInMs: outcome === "rate_limited" ? 1_000 : undefined });
        return target.id;
      },
      {
        health,
        clock,
        maxAttempts,
        totalDeadlineInMs: 60_000,
        classifyError: (thrown) => (thrown instanceof ScriptedFailure ? thrown.classified : { kind: "fatal" }),
        onFailover: (from, to) => failovers.push([from, to]),
      },
    );
  } catch (thrown) {
    error = thrown;
  }
  return { required, compliant, availableBefore, outcomeOf, attempted, failovers, result, error };
}

describe("routing properties", () => {
  it("never sends a request to a non-compliant endpoint, and fails over only between compliant ones", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { required, compliant, attempted, failovers, result, error } = await run(scenario, scenario.maxAttempts);
        if (!oracleNarrowingAllowed(scenario.projectResidency, scenario.requestedResidency)) {
          expect(error).toMatchObject({ status: 400, param: "x-palisade-residency" });
          expect(attempted).toEqual([]);
          return;
        }
        for (const target of [...attempted, ...failovers.flat()]) expect(oracleCompliant(target, scenario.dataClass, required)).toBe(true);
        expect(attempted.length).toBeLessThanOrEqual(scenario.maxAttempts);
        expect(new Set(attempted.map((target) => target.id)).size).toBe(attempted.length);
        if (compliant.length === 0) expect(error).toMatchObject({ status: 503, code: "no_compliant_endpoint" });
        if (result !== undefined) {
          expect(oracleCompliant(result.endpoint, scenario.dataClass, required)).toBe(true);
          expect(result.attempts).toBe(attempted.length);
        } else {
          expect(isPalisadeError(error)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("serves the request whenever a compliant, healthy, working endpoint exists and the attempt budget allows", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        fc.pre(oracleNarrowingAllowed(scenario.projectResidency, scenario.requestedResidency));
        const budget = Math.max(1, scenario.endpoints.length);
        const { compliant, availableBefore, outcomeOf, attempted, result, error } = await run(scenario, budget);
        const servable = compliant.filter((candidate) => availableBefore.has(candidate.id) && outcomeOf(candidate.id) === "ok");
        if (servable.length > 0) {
          expect(error).toBeUndefined();
          expect(result?.endpoint.id).toBeDefined();
          expect(outcomeOf(result?.endpoint.id ?? "")).toBe("ok");
        }
        if (availableBefore.size > 0) {
          // Something compliant was healthy: it was tried. Failing that, "no compliant endpoint" only once
          // every healthy compliant endpoint was tried; with some left (budget spent), "upstream_error".
          expect(attempted.length).toBeGreaterThan(0);
          if (error !== undefined) {
            const allTried = [...availableBefore].every((id) => attempted.some((endpoint) => endpoint.id === id));
            expect(error).toMatchObject(allTried ? { status: 503, code: "no_compliant_endpoint" } : { code: "upstream_error" });
          }
        } else if (compliant.length > 0) {
          expect(attempted).toEqual([]);
          expect(error).toMatchObject({ status: 503, code: "no_compliant_endpoint" });
        }
      }),
      { numRuns: 400 },
    );
  });
});
