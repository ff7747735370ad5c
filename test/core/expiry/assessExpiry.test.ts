import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ExpiryItem, assessExpiry } from "../../../src/core/expiry/assessExpiry.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const item = (expiresAtInMs: number | null): ExpiryItem => ({ kind: "api-key", id: "k1", prefix: "pal_k1", project: "billing", environment: null, expiresAtInMs });

describe("assessExpiry", () => {
  it.each([
    [NOW + 30 * DAY, "ok", 30],
    [NOW + 7 * DAY + 1, "ok", 7],
    [NOW + 7 * DAY, "warning", 7],
    [NOW + DAY / 2, "warning", 0],
    [NOW, "critical", 0],
    [NOW - 1, "critical", -1],
    [NOW - 3 * DAY, "critical", -3],
  ])("expiry %d -> %s (%d days)", (expiresAtInMs, severity, days) => {
    const [assessed] = assessExpiry([item(expiresAtInMs)], NOW);
    expect(assessed?.severity).toBe(severity);
    expect(assessed?.daysToExpiry).toBe(days);
  });

  it("flags an item without expiry as a warning", () => {
    expect(assessExpiry([item(null)], NOW)[0]).toMatchObject({ severity: "warning", reason: "no_expiry", daysToExpiry: null });
  });

  it("is critical exactly when expired and warns exactly within 7 days (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -400 * DAY, max: 400 * DAY }), (offset) => {
        const [assessed] = assessExpiry([item(NOW + offset)], NOW);
        expect(assessed?.severity === "critical").toBe(offset <= 0);
        expect(assessed?.severity === "warning").toBe(offset > 0 && offset <= 7 * DAY);
        expect(assessed?.daysToExpiry).toBe(Math.floor(offset / DAY));
      }),
    );
  });
});
