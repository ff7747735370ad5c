import { describe, expect, it } from "vitest";
import { decodeAuditEvent, parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";

/**
 * Issue 18 item 12: a lone surrogate in a free-text field was escaped by the canonicaliser where
 * strict RFC 8785 implementations refuse it, so verifiers could disagree about an entry's hash.
 * The event schema now refuses it, naming the field (never its value).
 */
describe("auditEventSchema: well-formed Unicode only", () => {
  it("accepts a well-formed event, astral characters (surrogate pairs) included", () => {
    expect(parseAuditEvent(makeAuditEvent({ subject: "user 😀 ü", reason: "ok" })).ok).toBe(true);
  });

  it.each([
    ["subject", { subject: "user \uD800 x" }, "subject"],
    ["reason (a lone low surrogate)", { reason: "x\uDC00" }, "reason"],
    ["a details value", { details: { note: "\uDBFFend" } }, "details.note"],
    ["a details key", { details: { ["k\uD83D"]: "v" } }, "details.(key)"],
  ] as const)("refuses a lone surrogate in %s with a clear reason", (_name, overrides, field) => {
    const parsed = parseAuditEvent({ ...makeAuditEvent(), ...overrides });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toContain(`${field}: holds a lone UTF-16 surrogate`);
    expect(parsed.reason).not.toMatch(/[\uD800-\uDFFF]/);
  });

  it("refuses it in a Service Bus body too (JSON text with an escaped lone surrogate)", () => {
    const body = JSON.stringify(makeAuditEvent()).replace('"policyVersion":"', '"policyVersion":"\\ud800');
    const parsed = decodeAuditEvent(body);
    expect(parsed).toMatchObject({ ok: false });
    expect(parsed.ok ? "" : parsed.reason).toContain("policyVersion: holds a lone UTF-16 surrogate");
  });
});
