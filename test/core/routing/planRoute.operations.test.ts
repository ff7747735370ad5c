import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { EndpointHealth } from "../../../src/core/routing/EndpointHealth.js";
import { planRoute } from "../../../src/core/routing/planRoute.js";
import { breakerPolicy, endpoint, policyWith, projectOf } from "./fixtures.js";

const policy = policyWith([
  endpoint({ id: "chat-only", residency: "eu", class: "standard", operations: ["chat"], priority: 1 }),
  endpoint({ id: "undeclared", residency: "eu", class: "standard", priority: 2 }),
  endpoint({ id: "embeddings-only", residency: "eu", class: "standard", operations: ["embeddings"], priority: 3 }),
]);
const health = new EndpointHealth(new ManualClock(0), breakerPolicy);
const plan = (operation?: "chat" | "embeddings" | "responses") =>
  planRoute({ policy, project: projectOf(policy, "eu"), model: "gpt-4o", dataClass: "internal", ...(operation ? { operation } : {}) }, health).candidates.map((candidate) => candidate.id);

describe("planRoute picks only endpoints that serve the operation", () => {
  it("chat (also when no operation is named): endpoints that declare chat, and those that declare nothing", () => {
    expect(plan()).toEqual(["chat-only", "undeclared"]);
    expect(plan("chat")).toEqual(["chat-only", "undeclared"]);
  });

  it("responses: endpoints that declare nothing serve it (chat models do), a chat-only one does not", () => {
    expect(plan("responses")).toEqual(["undeclared"]);
  });

  it("embeddings: only endpoints that declare it", () => {
    expect(plan("embeddings")).toEqual(["embeddings-only"]);
  });

  it("no endpoint serving the operation: 503 no_compliant_endpoint", () => {
    const chatOnly = policyWith([endpoint({ id: "chat-only", residency: "eu", class: "standard", operations: ["chat"] })]);
    expect(() => planRoute({ policy: chatOnly, project: projectOf(chatOnly, "eu"), model: "gpt-4o", dataClass: "internal", operation: "embeddings" }, health)).toThrow(
      expect.objectContaining({ status: 503, code: "no_compliant_endpoint" }),
    );
  });
});
