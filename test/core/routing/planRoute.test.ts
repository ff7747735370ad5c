import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { planRoute } from "../../../src/core/routing/planRoute.js";
import { resolveResidency } from "../../../src/core/routing/residency.js";
import { servedByHeaders } from "../../../src/core/routing/servedByHeaders.js";
import { breakerPolicy, endpoint, policyWith, projectOf } from "./fixtures.js";

const policy = policyWith([
  endpoint({ id: "eu-std-2", residency: "eu", class: "standard", priority: 20 }),
  endpoint({ id: "eu-std-1", residency: "eu", class: "standard", priority: 10 }),
  endpoint({ id: "eu-zdr", residency: "eu", class: "zdr", priority: 50, region: "swedencentral" }),
  endpoint({ id: "eu-cached", residency: "eu", class: "cached", priority: 1 }),
  endpoint({ id: "us-zdr", residency: "us", class: "zdr", priority: 1 }),
  endpoint({ id: "global-std", residency: "global", class: "standard", priority: 1 }),
  endpoint({ id: "eu-other-model", residency: "eu", class: "zdr", priority: 1, deployments: ["gpt-35"] }),
]);
const euProject = projectOf(policy, "eu");
const globalProject = projectOf(policy, "global");

function healthy() {
  const clock = new ManualClock();
  return { clock, health: new EndpointHealth(clock, breakerPolicy) };
}
const ids = (plan: { candidates: readonly { id: string }[] }) => plan.candidates.map((candidate) => candidate.id);

describe("planRoute: compliance", () => {
  it("sends pii only to zdr endpoints in the project's residency that serve the model", () => {
    const plan = planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "pii" }, healthy().health);
    expect(ids(plan)).toEqual(["eu-zdr"]);
    expect(plan).toMatchObject({ deployment: "gpt-4o-2024-08-06", residency: "eu", dataClass: "pii", allowedClasses: ["zdr"] });
  });

  it("sends internal and confidential to standard or zdr, public also to cached", () => {
    const { health } = healthy();
    expect(ids(planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "internal" }, health))).toEqual(["eu-std-1", "eu-std-2", "eu-zdr"]);
    expect(ids(planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "confidential" }, health))).toEqual(["eu-std-1", "eu-std-2", "eu-zdr"]);
    expect(ids(planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "public" }, health))).toEqual(["eu-cached", "eu-std-1", "eu-std-2", "eu-zdr"]);
  });

  it("lets a global project use any residency, and a global endpoint serve only global projects", () => {
    const { health } = healthy();
    expect(ids(planRoute({ policy, project: globalProject, model: "gpt-4o", dataClass: "pii" }, health))).toEqual(["us-zdr", "eu-zdr"]);
    expect(ids(planRoute({ policy, project: globalProject, model: "gpt-4o", dataClass: "internal" }, health))).toContain("global-std");
    expect(ids(planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "internal" }, health))).not.toContain("global-std");
  });

  it("lets a request narrow a global project's residency", () => {
    const plan = planRoute({ policy, project: globalProject, model: "gpt-4o", dataClass: "pii", requestedResidency: "eu" }, healthy().health);
    expect(ids(plan)).toEqual(["eu-zdr"]);
    expect(plan.residency).toBe("eu");
  });

  it("refuses a request that widens or leaves the project's residency with a 400 naming the header", () => {
    for (const requestedResidency of ["us", "global", "apac"] as const) {
      expect(() => planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "internal", requestedResidency }, healthy().health)).toThrow(
        expect.objectContaining({ status: 400, code: "invalid_request", param: "x-palisade-residency" }),
      );
    }
    expect(resolveResidency("eu", "eu")).toBe("eu");
  });

  it("answers 503 no_compliant_endpoint naming residency, class and model, and no endpoint ids", () => {
    const apacProject = projectOf(policy, "apac");
    let thrown: unknown;
    try {
      planRoute({ policy, project: apacProject, model: "gpt-4o", dataClass: "phi" }, healthy().health);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ status: 503, code: "no_compliant_endpoint", type: "service_unavailable_error" });
    const message = (thrown as Error).message;
    expect(message).toContain('"apac"');
    expect(message).toContain('"phi"');
    expect(message).toContain('"gpt-4o"');
    expect(message).toContain("zdr");
    for (const candidate of policy.endpoints) expect(message).not.toContain(candidate.id);
  });

  it("refuses a model the project does not have", () => {
    expect(() => planRoute({ policy, project: euProject, model: "gpt-35", dataClass: "internal" }, healthy().health)).toThrow(
      expect.objectContaining({ status: 403, code: "model_not_allowed" }),
    );
  });
});

describe("planRoute: ordering", () => {
  it("puts available endpoints first, then priority, then observed latency", () => {
    const { clock, health } = healthy();
    const input = { policy, project: euProject, model: "gpt-4o", dataClass: "internal" } as const;
    for (let index = 0; index < 3; index += 1) health.recordFailure("eu-std-1", "server_error");
    expect(ids(planRoute(input, health))).toEqual(["eu-std-2", "eu-zdr", "eu-std-1"]);
    clock.advance(breakerPolicy.cooldownInMs);
    // Half-open and free to probe: available again, so back in priority order.
    expect(ids(planRoute(input, health))).toEqual(["eu-std-1", "eu-std-2", "eu-zdr"]);
  });

  it("orders equal priorities by EWMA latency, unmeasured first", () => {
    const same = policyWith([
      endpoint({ id: "slow", residency: "us", class: "standard" }),
      endpoint({ id: "fast", residency: "us", class: "standard" }),
      endpoint({ id: "new", residency: "us", class: "standard" }),
    ]);
    const { health } = healthy();
    health.recordSuccess("slow", 900);
    health.recordSuccess("fast", 100);
    const input = { policy: same, project: projectOf(same, "us"), model: "gpt-4o", dataClass: "internal" } as const;
    expect(ids(planRoute(input, health))).toEqual(["new", "fast", "slow"]);
    health.recordSuccess("new", 500);
    expect(ids(planRoute(input, health))).toEqual(["fast", "new", "slow"]);
    for (let index = 0; index < 10; index += 1) health.recordSuccess("fast", 2_000);
    expect(ids(planRoute(input, health))).toEqual(["new", "slow", "fast"]);
  });

  it("says where a response was served", () => {
    const plan = planRoute({ policy, project: euProject, model: "gpt-4o", dataClass: "pii" }, healthy().health);
    expect(servedByHeaders(plan.candidates[0]!)).toEqual({ "x-palisade-region": "swedencentral", "x-palisade-endpoint-class": "zdr" });
  });
});
