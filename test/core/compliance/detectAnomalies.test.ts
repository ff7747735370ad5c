import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { detectAnomalies } from "../../../src/core/compliance/detectAnomalies.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";

const calls = (actor: string, count: number, blocked = 0): AuditEvent[] =>
  Array.from({ length: count }, (_, i) =>
    makeAuditEvent(
      i < blocked ? { actor: { kind: "service-account", id: actor }, type: "policy_violation", status: "blocked", reason: "ip_not_allowed" } : { actor: { kind: "service-account", id: actor } },
      i,
    ),
  );

const week = (perDay: (day: number) => AuditEvent[]): AuditEvent[][] => Array.from({ length: 7 }, (_, day) => perDay(day));

describe("detectAnomalies", () => {
  it("flags a volume spike against a steady baseline, and not the steady actor", () => {
    const trailing = week(() => [...calls("steady", 40), ...calls("spiky", 10)]);
    const today = [...calls("steady", 44), ...calls("spiky", 100)];
    const anomalies = detectAnomalies(today, trailing);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ actor: "service-account:spiky", metric: "requests", direction: "spike", count: 100, baselineMean: 10, newActor: false });
    expect(anomalies[0]!.zScore).toBeGreaterThan(3);
  });

  it("flags blocked requests rising from nothing, and a drop in volume", () => {
    const trailing = week(() => [...calls("prober", 30), ...calls("busy", 60)]);
    const today = [...calls("prober", 30, 12), ...calls("busy", 3)];
    const anomalies = detectAnomalies(today, trailing);
    expect(anomalies.map((a) => `${a.actor}/${a.metric}/${a.direction}`).sort()).toEqual(["service-account:busy/requests/drop", "service-account:prober/blocked/spike"]);
  });

  it("needs a minimum count, so a new actor with a handful of calls is not an anomaly", () => {
    const others = week(() => calls("regular", 10));
    expect(detectAnomalies(calls("newbie", 5), others)).toEqual([]);
    const flagged = detectAnomalies(calls("burst", 25), others);
    expect(flagged).toEqual([expect.objectContaining({ actor: "service-account:burst", newActor: true, direction: "spike" })]);
  });

  it("flags nothing without any baseline (a chain's first days)", () => {
    expect(detectAnomalies(calls("burst", 500), week(() => []))).toEqual([]);
  });

  it("tolerates a noisy baseline whose spread covers the day", () => {
    const noisy = [5, 60, 10, 55, 8, 70, 12];
    const trailing = noisy.map((n) => calls("noisy", n));
    expect(detectAnomalies(calls("noisy", 75), trailing)).toEqual([]);
  });
});
