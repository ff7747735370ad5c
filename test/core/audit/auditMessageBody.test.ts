import { describe, expect, it } from "vitest";
import { PACKED_AUDIT_FORMAT, packedAuditBody, packedAuditBodyBytes, packedAuditPart, unpackAuditBody } from "../../../src/core/audit/auditMessageBody.js";
import { makeAuditEvents } from "../../fakes/InMemoryAuditEvents.js";

describe("the audit queue's message bodies", () => {
  const events = makeAuditEvents(3, { project: "a" });
  const jsons = events.map((event) => JSON.stringify(event));

  it("packs events into one envelope whose size is known before it is built", () => {
    const body = packedAuditBody(jsons);
    expect(JSON.parse(body)).toEqual({ format: PACKED_AUDIT_FORMAT, events });
    expect(Buffer.byteLength(body)).toBe(packedAuditBodyBytes(jsons.reduce((sum, json) => sum + Buffer.byteLength(json), 0), jsons.length));
  });

  it("reads a packed body as bytes, text or parsed JSON (hosts hand over any of them), in order", () => {
    const body = packedAuditBody(jsons);
    for (const form of [Buffer.from(body), body, JSON.parse(body) as unknown]) expect(unpackAuditBody(form)).toEqual({ kind: "packed", values: events });
  });

  it("reads a one-event body (what older publishers queued) as a single event, in every form", () => {
    for (const form of [Buffer.from(jsons[0]!), jsons[0], events[0]]) expect(unpackAuditBody(form)).toEqual({ kind: "single", value: events[0] });
    // Not an envelope: handed on as one value, for the event schema to judge.
    expect(unpackAuditBody("42")).toEqual({ kind: "single", value: 42 });
    expect(unpackAuditBody([events[0]])).toEqual({ kind: "single", value: [events[0]] });
  });

  it("refuses what is not JSON, another format version, an envelope with stray fields or no events, naming no value", () => {
    expect(unpackAuditBody(Buffer.from("{oops"))).toMatchObject({ kind: "invalid", reason: expect.stringContaining("invalid_json") });
    expect(unpackAuditBody({ format: "palisade-audit-events/v2", events })).toMatchObject({ kind: "invalid", reason: expect.stringContaining("unsupported_format") });
    const stray = unpackAuditBody({ format: PACKED_AUDIT_FORMAT, events, prompt: "my SSN is 078-05-1120" });
    expect(stray).toMatchObject({ kind: "invalid", reason: expect.stringContaining("unrecognized_keys") });
    expect(JSON.stringify(stray)).not.toContain("078-05-1120");
    expect(unpackAuditBody({ format: PACKED_AUDIT_FORMAT, events: [] })).toMatchObject({ kind: "invalid", reason: expect.stringContaining("events") });
    expect(unpackAuditBody({ format: PACKED_AUDIT_FORMAT, events: "x" })).toMatchObject({ kind: "invalid", reason: expect.stringContaining("events") });
  });

  it("gives one part of a packed body back as a one-event body (for the dead-letter store)", () => {
    const body = Buffer.from(packedAuditBody(jsons));
    expect(JSON.parse(Buffer.from(packedAuditPart(body, 1)!).toString("utf8"))).toEqual(events[1]);
    expect(packedAuditPart(body, 3)).toBeUndefined();
    expect(packedAuditPart(Buffer.from(jsons[0]!), 0)).toBeUndefined();
  });
});
