import { describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { type ClassifiedAttemptError, executeWithFailover } from "../../../src/core/routing/executeWithFailover.js";
import { planRoute } from "../../../src/core/routing/planRoute.js";
import { breakerPolicy, endpoint, policyWith, projectOf } from "./fixtures.js";

class UpstreamFailure extends Error {
  constructor(readonly classified: ClassifiedAttemptError) {
    super(classified.kind);
  }
}
const classifyError = (error: unknown): ClassifiedAttemptError => (error instanceof UpstreamFailure ? error.classified : { kind: "connection" });

const policy = policyWith([
  endpoint({ id: "eu-a", residency: "eu", class: "zdr", priority: 1, region: "westeurope", timeoutInMs: 20_000 }),
  endpoint({ id: "eu-b", residency: "eu", class: "zdr", priority: 2, region: "swedencentral" }),
  endpoint({ id: "eu-c", residency: "eu", class: "zdr", priority: 3, region: "francecentral" }),
  endpoint({ id: "us-a", residency: "us", class: "zdr", priority: 0 }),
]);
const project = projectOf(policy, "eu");

function setup() {
  const clock = new ManualClock();
  const health = new EndpointHealth(clock, breakerPolicy);
  const plan = planRoute({ policy, project, model: "gpt-4o", dataClass: "pii" }, health);
  return { clock, health, plan, options: { health, clock, maxAttempts: 3, totalDeadlineInMs: 90_000, classifyError } };
}

/** An attempt that follows a script per endpoint id; the clock moves by `tookInMs` during each call. */
function scripted(clock: ManualClock, script: Record<string, ClassifiedAttemptError | "ok">, tookInMs = 100) {
  const calls: { id: string; timeoutInMs: number; attemptNumber: number }[] = [];
  const attempt = async (target: EndpointPolicy, options: { timeoutInMs: number; attemptNumber: number }) => {
    calls.push({ id: target.id, ...options });
    clock.advance(tookInMs);
    const outcome = script[target.id] ?? "ok";
    if (outcome !== "ok") throw new UpstreamFailure(outcome);
    return `answer from ${target.id}`;
  };
  return { attempt, calls };
}

describe("executeWithFailover", () => {
  it("serves from the first candidate and records its latency", async () => {
    const { clock, health, plan, options } = setup();
    const { attempt, calls } = scripted(clock, {}, 250);
    const outcome = await executeWithFailover(plan, attempt, options);
    expect(outcome).toMatchObject({ result: "answer from eu-a", attempts: 1, endpoint: { id: "eu-a" } });
    expect(calls).toEqual([{ id: "eu-a", timeoutInMs: 20_000, attemptNumber: 1 }]);
    expect(health.latencyInMs("eu-a")).toBe(250);
  });

  it("fails over on 5xx, timeout and connection errors, within the plan only, and reports each failover", async () => {
    const { clock, plan, options } = setup();
    const { attempt, calls } = scripted(clock, { "eu-a": { kind: "server_error" }, "eu-b": { kind: "timeout" } });
    const failovers: string[][] = [];
    const onFailover = (from: EndpointPolicy, to: EndpointPolicy, reason: string) => failovers.push([from.region, to.region, reason]);
    const outcome = await executeWithFailover(plan, attempt, { ...options, onFailover });
    expect(outcome).toMatchObject({ result: "answer from eu-c", attempts: 3 });
    expect(calls.map((call) => [call.id, call.attemptNumber])).toEqual([["eu-a", 1], ["eu-b", 2], ["eu-c", 3]]);
    expect(failovers).toEqual([
      ["westeurope", "swedencentral", "server_error"],
      ["swedencentral", "francecentral", "timeout"],
    ]);
  });

  it("skips a rate-limited endpoint until its retry-after passes", async () => {
    const { clock, plan, options } = setup();
    const first = scripted(clock, { "eu-a": { kind: "rate_limited", retryAfterInMs: 5_000 } });
    expect((await executeWithFailover(plan, first.attempt, options)).endpoint.id).toBe("eu-b");
    const second = scripted(clock, {});
    expect((await executeWithFailover(plan, second.attempt, options)).endpoint.id).toBe("eu-b");
    expect(second.calls.map((call) => call.id)).toEqual(["eu-b"]);
    clock.advance(5_000);
    const third = scripted(clock, {});
    expect((await executeWithFailover(plan, third.attempt, options)).endpoint.id).toBe("eu-a");
  });

  it("rethrows a fatal error at once, without failing over, and frees a half-open probe", async () => {
    const { clock, health, plan, options } = setup();
    for (let index = 0; index < 3; index += 1) health.recordFailure("eu-a", "server_error");
    clock.advance(breakerPolicy.cooldownInMs);
    const fatal = new UpstreamFailure({ kind: "fatal" });
    const attempt = vi.fn(async () => {
      throw fatal;
    });
    await expect(executeWithFailover(plan, attempt, options)).rejects.toBe(fatal);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(health.state("eu-a")).toBe("half_open");
    expect(health.tryAcquire("eu-a")).toBe(true);
  });

  it("stops at maxAttempts with a 502 upstream_error after server errors", async () => {
    const { clock, plan, options } = setup();
    const { attempt, calls } = scripted(clock, { "eu-a": { kind: "server_error" }, "eu-b": { kind: "server_error" }, "eu-c": { kind: "server_error" } });
    await expect(executeWithFailover(plan, attempt, { ...options, maxAttempts: 2 })).rejects.toMatchObject({ status: 502, code: "upstream_error" });
    expect(calls).toHaveLength(2);
  });

  it("answers 503 no_compliant_endpoint with retry-after when every compliant endpoint was tried and failed", async () => {
    const { clock, plan, options } = setup();
    const limited = { kind: "rate_limited", retryAfterInMs: 1_500 } as const;
    const { attempt, calls } = scripted(clock, { "eu-a": limited, "eu-b": limited, "eu-c": limited });
    const error = await executeWithFailover(plan, attempt, options).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 503, code: "no_compliant_endpoint", headers: { "retry-after": "2" } });
    expect((error as Error).message).toMatch(/residency "eu".*rate_limited/);
    expect(calls.map((call) => call.id).sort()).toEqual(["eu-a", "eu-b", "eu-c"]);
  });

  it("answers 503 no_compliant_endpoint, never a non-compliant endpoint, when no candidate is available", async () => {
    const { health, clock, plan, options } = setup();
    for (const id of ["eu-a", "eu-b", "eu-c"]) for (let index = 0; index < 3; index += 1) health.recordFailure(id, "connection");
    clock.advance(10_000);
    const attempt = vi.fn(async () => "never");
    await expect(executeWithFailover(plan, attempt, options)).rejects.toMatchObject({
      status: 503,
      code: "no_compliant_endpoint",
      headers: { "retry-after": String((breakerPolicy.cooldownInMs - 10_000) / 1000) },
    });
    expect(attempt).not.toHaveBeenCalled();
    expect(health.isAvailable("us-a")).toBe(true);
  });

  it("passes the remaining deadline as the timeout and stops when it is spent", async () => {
    const { clock, plan, options } = setup();
    const { attempt, calls } = scripted(clock, { "eu-a": { kind: "timeout" }, "eu-b": { kind: "timeout" } }, 15_000);
    await expect(executeWithFailover(plan, attempt, { ...options, totalDeadlineInMs: 25_000 })).rejects.toMatchObject({ status: 503, code: "upstream_error" });
    expect(calls.map((call) => [call.id, call.timeoutInMs])).toEqual([
      ["eu-a", 20_000],
      ["eu-b", 10_000],
    ]);
  });

  it("honours an abort signal between attempts", async () => {
    const { clock, plan, options } = setup();
    const controller = new AbortController();
    const { attempt, calls } = scripted(clock, { "eu-a": { kind: "server_error" } });
    const aborting = async (target: EndpointPolicy, attemptOptions: { timeoutInMs: number; attemptNumber: number }) => {
      try {
        return await attempt(target, attemptOptions);
      } finally {
        controller.abort(new Error("client went away"));
      }
    };
    await expect(executeWithFailover(plan, aborting, { ...options, abortSignal: controller.signal })).rejects.toThrow("client went away");
    expect(calls).toHaveLength(1);
  });
});
