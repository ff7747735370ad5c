import { describe, expect, it } from "vitest";
import { isUsable } from "../../../src/core/secrets/isUsable.js";

const now = Date.UTC(2026, 5, 1, 12, 0, 0);
const base = { enabled: true, expiresAtInMs: null, notBeforeInMs: null };

describe("isUsable", () => {
  it("accepts an enabled version with no window", () => {
    expect(isUsable(base, now)).toBe(true);
  });

  it("refuses a disabled version whatever its window", () => {
    expect(isUsable({ ...base, enabled: false }, now)).toBe(false);
    expect(isUsable({ enabled: false, expiresAtInMs: now + 1000, notBeforeInMs: now - 1000 }, now)).toBe(false);
  });

  it("refuses from the expiry instant on, accepts just before", () => {
    expect(isUsable({ ...base, expiresAtInMs: now + 1 }, now)).toBe(true);
    expect(isUsable({ ...base, expiresAtInMs: now }, now)).toBe(false);
    expect(isUsable({ ...base, expiresAtInMs: now - 86_400_000 }, now)).toBe(false);
  });

  it("refuses before not-before, accepts from that instant on", () => {
    expect(isUsable({ ...base, notBeforeInMs: now + 1 }, now)).toBe(false);
    expect(isUsable({ ...base, notBeforeInMs: now }, now)).toBe(true);
  });
});
