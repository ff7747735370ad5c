import { describe, expect, it } from "vitest";
import { AUDIT_EVENT_TYPES, type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { type ChainIntegrity } from "../../../src/core/compliance/ComplianceSummary.js";
import { summarizeDay } from "../../../src/core/compliance/summarizeDay.js";
import { parseUtcDay } from "../../../src/core/compliance/utcDay.js";
import { VERSION_AFTERNOON, VERSION_MORNING, generateDay } from "./dayFixture.js";

const intact: ChainIntegrity = {
  intact: true,
  entriesChecked: 602,
  checkpointsChecked: 1,
  problem: null,
  firstBadSequence: null,
  message: "intact",
  checkpoint: { size: 602, rootHash: "c".repeat(64), timestamp: "2026-03-11T02:00:00.000Z", keyId: "memory://k/1" },
  checkpointError: null,
};

const REQUEST_TYPES = new Set(["api_call", "auth_failed", "policy_violation", "pii_detected", "rate_limited", "budget_exceeded", "residency_blocked", "content_filtered", "prompt_attack_detected"]);

/** Expectations written independently of the implementation: plain filters over the events. */
function countWhere(events: readonly AuditEvent[], predicate: (e: AuditEvent) => boolean): number {
  return events.filter(predicate).length;
}
function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  values.forEach((v) => (out[v] = (out[v] ?? 0) + 1));
  return out;
}
const total = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe("summarizeDay over a generated day of every event type", () => {
  const day = generateDay({ count: 700, seed: 7 });
  const utc = parseUtcDay(day.date)!;
  const summary = summarizeDay({ chainId: day.chainId, day: utc, events: day.events, trailingDays: [], integrity: intact, generatedAtInMs: utc.endInMs + 7_200_000, projectTags: { acme: { team: "payments", cost: "cc-42" } } });
  const inside = day.inside;
  const requests = inside.filter((e) => REQUEST_TYPES.has(e.type));

  it("covers every event type and ignores events outside the UTC day", () => {
    for (const type of AUDIT_EVENT_TYPES) expect(inside.some((e) => e.type === type), type).toBe(true);
    expect(summary.events.total).toBe(inside.length);
    for (const type of AUDIT_EVENT_TYPES) expect(summary.events.byType[type], type).toBe(countWhere(inside, (e) => e.type === type));
    expect(summary.period).toEqual({ date: "2026-03-10", since: "2026-03-10T00:00:00.000Z", until: "2026-03-11T00:00:00.000Z" });
    expect(summary.schema).toBe("palisade-compliance-summary/v1");
  });

  it("counts requests by status and HTTP status, actors and cache hits", () => {
    expect(summary.requests.total).toBe(requests.length);
    expect(summary.requests.byStatus).toEqual({
      success: countWhere(requests, (e) => e.status === "success"),
      error: countWhere(requests, (e) => e.status === "error"),
      blocked: countWhere(requests, (e) => e.status === "blocked"),
    });
    expect(summary.requests.byHttpStatus).toEqual(tally(requests.map((e) => String(e.httpStatus))));
    expect(summary.requests.distinctActors).toBe(new Set(requests.filter((e) => e.actor.kind !== "anonymous").map((e) => `${e.actor.kind}:${e.actor.id}`)).size);
    expect(summary.requests.cacheHits).toBe(countWhere(inside, (e) => e.type === "api_call" && e.details?.cache === "hit"));
    expect(summary.requests.cacheHits).toBeGreaterThan(0);
  });

  it("sums tokens and cost, by project, model, deployment and tag", () => {
    const input = total(inside.map((e) => e.tokens?.input ?? 0));
    const output = total(inside.map((e) => e.tokens?.output ?? 0));
    expect(summary.tokens).toEqual({ input, cachedInput: total(inside.map((e) => e.tokens?.cachedInput ?? 0)), output, total: input + output });
    const cost = total(inside.map((e) => e.costUsd ?? 0));
    expect(summary.cost.totalUsd).toBeCloseTo(cost, 6);
    expect(summary.cost.totalUsd).toBeLessThan(9); // the out-of-day events cost 9 each
    for (const model of ["gpt-4o", "gpt-4o-mini", "o3-mini"]) {
      const ofModel = inside.filter((e) => e.model === model);
      const group = summary.cost.byModel[model]!;
      expect(group.costUsd, model).toBeCloseTo(total(ofModel.map((e) => e.costUsd ?? 0)), 6);
      expect(group.inputTokens, model).toBe(total(ofModel.map((e) => e.tokens?.input ?? 0)));
      expect(group.requests, model).toBe(countWhere(ofModel, (e) => REQUEST_TYPES.has(e.type)));
      expect(summary.cost.byDeployment[`${model}-eu`]?.costUsd).toBeCloseTo(group.costUsd, 6);
    }
    expect(summary.cost.byProject.acme?.costUsd).toBeCloseTo(cost, 6);
    expect(summary.cost.byTag["team=payments"]?.costUsd).toBeCloseTo(cost, 6);
    expect(summary.cost.byTag["cost=cc-42"]?.requests).toBe(requests.length);
  });

  it("sums usage by operation (chat, embeddings, responses) from the events that name one", () => {
    const named = inside.filter((e) => typeof e.details?.operation === "string" && (REQUEST_TYPES.has(e.type) || e.tokens !== undefined || e.costUsd !== undefined));
    const kindOf = (e: AuditEvent): string => (e.details?.operation === "chat.completions" ? "chat" : String(e.details?.operation));
    expect(Object.keys(summary.cost.byOperation)).toEqual(["chat", "embeddings", "responses"]);
    for (const kind of ["chat", "embeddings", "responses"]) {
      const ofKind = named.filter((e) => kindOf(e) === kind);
      expect(ofKind.length, kind).toBeGreaterThan(0);
      const group = summary.cost.byOperation[kind]!;
      expect(group.requests, kind).toBe(countWhere(ofKind, (e) => REQUEST_TYPES.has(e.type)));
      expect(group.inputTokens, kind).toBe(total(ofKind.map((e) => e.tokens?.input ?? 0)));
      expect(group.outputTokens, kind).toBe(total(ofKind.map((e) => e.tokens?.output ?? 0)));
      expect(group.costUsd, kind).toBeCloseTo(total(ofKind.map((e) => e.costUsd ?? 0)), 6);
    }
  });

  it("counts refusals, violations and authentication failures by reason", () => {
    const refusals = requests.filter((e) => e.type !== "api_call");
    expect(summary.refusals.total).toBe(refusals.length);
    expect(summary.refusals.byReason).toEqual(tally(refusals.map((e) => e.reason ?? "unspecified")));
    expect(summary.policyViolations.byReason).toEqual(tally(inside.filter((e) => e.type === "policy_violation").map((e) => e.reason ?? "")));
    expect(summary.authFailures.byReason).toEqual(tally(inside.filter((e) => e.type === "auth_failed").map((e) => e.reason ?? "")));
    expect(summary.limits).toEqual({
      rateLimited: countWhere(inside, (e) => e.type === "rate_limited"),
      budgetExceeded: countWhere(inside, (e) => e.type === "budget_exceeded"),
      budgetWarnings: countWhere(inside, (e) => e.type === "budget_warning"),
      // One per request: the admission event that says the same is not counted again.
      unenforced: countWhere(requests, (e) => e.details?.limitsEnforced === false),
    });
    expect(summary.limits.unenforced).toBeGreaterThan(0);
    expect(summary.limits.unenforced).toBeLessThan(countWhere(inside, (e) => e.details?.limitsEnforced === false));
  });

  it("counts DLP findings by entity type, and blocks", () => {
    const byEntity: Record<string, number> = {};
    for (const e of inside) for (const [k, v] of Object.entries(e.dlpFindings ?? {})) byEntity[k] = (byEntity[k] ?? 0) + v;
    expect(summary.dlp.findingsByEntityType).toEqual(byEntity);
    expect(Object.keys(byEntity)).toEqual(expect.arrayContaining(["EMAIL", "output.PHONE", "CREDIT_CARD"]));
    expect(summary.dlp.blocked).toBe(countWhere(requests, (e) => e.reason === "sensitive_data_detected"));
    expect(summary.dlp.byAction).toEqual(tally(inside.filter((e) => e.dlpAction !== undefined).map((e) => e.dlpAction ?? "")));
  });

  it("counts content-safety refusals by source and category, mapped to SOC 2", () => {
    const attacks = countWhere(inside, (e) => e.type === "prompt_attack_detected");
    const filtered = countWhere(inside, (e) => e.type === "content_filtered");
    expect(attacks).toBeGreaterThan(0);
    expect(summary.contentSafety).toMatchObject({ promptAttacksBlocked: attacks, contentFiltered: filtered, flagged: 0, bySource: { palisade: filtered, upstream: attacks } });
    expect(summary.contentSafety.byCategory).toEqual({ Violence: filtered, "prompt_attack:jailbreak": attacks });
    const cc72 = summary.soc2.find((control) => control.control === "CC7.2")?.evidence ?? [];
    expect(cc72.find((item) => item.id === "safety.promptAttacksBlocked")?.count).toBe(attacks);
  });

  it("counts failovers, residency blocks, upstream errors and key events", () => {
    const failovers = inside.filter((e) => e.type === "fallback_triggered");
    expect(summary.resilience.failovers).toBe(failovers.length);
    expect(summary.resilience.failoversByReason).toEqual(tally(failovers.map((e) => e.reason ?? "")));
    expect(summary.resilience.failoverRoutes).toEqual({ "ep-sweden -> ep-france": failovers.length });
    expect(summary.resilience.residencyBlocks).toBe(countWhere(inside, (e) => e.type === "residency_blocked"));
    expect(summary.resilience.upstreamErrors).toBe(countWhere(inside, (e) => e.reason === "upstream_error"));
    const expiring = inside.filter((e) => e.type === "key_expiring");
    expect(summary.keys.expiringBySeverity).toEqual(tally(expiring.map((e) => String(e.details?.severity))));
    expect(summary.keys.rotated).toBe(countWhere(inside, (e) => e.type === "key_rotated"));
    expect(summary.keys.revoked).toBe(countWhere(inside, (e) => e.type === "key_revoked"));
    expect(summary.keys.rotationFailed).toBe(countWhere(inside, (e) => e.type === "rotation_failed"));
    expect(summary.keys.credentials).toEqual(["openai-eu", "openai-us"]);
  });

  it("lists the models in use per project, policy versions and subjects without revealing them", () => {
    const calls = inside.filter((e) => e.type === "api_call");
    expect(summary.modelInventory.acme?.map((m) => m.model)).toEqual([...new Set(calls.map((e) => e.model ?? ""))].sort());
    const gpt4o = summary.modelInventory.acme?.find((m) => m.model === "gpt-4o");
    expect(gpt4o?.calls).toBe(countWhere(calls, (e) => e.model === "gpt-4o"));
    expect(gpt4o?.deployments).toEqual(["gpt-4o-eu"]);
    expect(gpt4o?.endpoints).toEqual(["ep-france", "ep-sweden"]);
    expect(summary.policy.versions).toEqual({
      [VERSION_MORNING]: countWhere(inside, (e) => e.policyVersion === VERSION_MORNING),
      [VERSION_AFTERNOON]: countWhere(inside, (e) => e.policyVersion === VERSION_AFTERNOON),
    });
    expect(summary.privacy.subjectsSeen).toBe(new Set(inside.filter((e) => e.subject !== undefined).map((e) => e.subject?.slice(0, 32))).size);
    expect(JSON.stringify(summary)).not.toContain("QUJD");
  });

  it("maps the evidence to the six SOC 2 controls with matching counts", () => {
    expect(summary.soc2.map((c) => c.control)).toEqual(["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC8.1", "CC9.1"]);
    const evidence = (control: string, id: string): number | undefined => summary.soc2.find((c) => c.control === control)?.evidence.find((e) => e.id === id)?.count;
    expect(evidence("CC6.1", "auth.failures")).toBe(countWhere(inside, (e) => e.type === "auth_failed"));
    expect(evidence("CC6.2", "keys.rotated")).toBe(countWhere(inside, (e) => e.type === "key_rotated"));
    expect(evidence("CC6.2", "auth.credentialState")).toBe(countWhere(inside, (e) => e.type === "auth_failed" && (e.reason === "expired_api_key" || e.reason === "revoked_api_key")));
    expect(evidence("CC6.3", "authz.modelAllowlist")).toBe(countWhere(requests, (e) => e.reason === "model_not_allowed"));
    expect(evidence("CC7.2", "audit.chainIntact")).toBe(1);
    expect(evidence("CC8.1", "policy.versionsInForce")).toBe(2);
    expect(evidence("CC8.1", "policy.changed")).toBe(countWhere(inside, (e) => e.type === "policy_changed"));
    expect(evidence("CC9.1", "routing.failovers")).toBe(countWhere(inside, (e) => e.type === "fallback_triggered"));
    // rotation_failed events and CRITICAL expiry are in the day: CC6.2 needs attention.
    expect(summary.soc2.find((c) => c.control === "CC6.2")?.status).toBe("attention");
  });

  it("flags CC7.2 when the chain is not intact", () => {
    const broken = summarizeDay({
      chainId: "acme",
      day: utc,
      events: [],
      trailingDays: [],
      integrity: { ...intact, intact: false, problem: "payload_edited", firstBadSequence: 3, checkpoint: null, checkpointError: "payload_edited" },
      generatedAtInMs: utc.endInMs,
    });
    const cc72 = broken.soc2.find((c) => c.control === "CC7.2");
    expect(cc72?.status).toBe("attention");
    expect(cc72?.evidence.find((e) => e.id === "audit.chainIntact")?.count).toBe(0);
    expect(broken.requests.total).toBe(0);
  });
});
