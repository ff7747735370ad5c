import canonicalizeModule from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../src/core/audit/canonicalJson.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";

// The package is CommonJS (`module.exports = fn`) but its types declare a default export.
const reference = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The audit chain's own RFC 8785 serialiser against the `canonicalize` package it replaced on the
 * append path (the RFC's vectors run through it in jcsVectors.test.ts): the same bytes for any JSON
 * value, so every hash of every chain written before stays the same.
 */
describe("canonicalJson", () => {
  it("writes what the canonicalize package writes, for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it("writes what the package writes for objects with awkward member names (digits, astral, escapes)", () => {
    const key = fc.oneof(fc.string(), fc.constantFrom("0", "1", "10", "9", "-1", "01", "\u20ac", "\r", "\ud83d\ude00", "a\"b", "__proto__x"));
    fc.assert(
      fc.property(fc.dictionary(key, fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null))), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 1_000 },
    );
  });

  it("writes every UTF-16 code unit in a string (and as a member name) as the package does", () => {
    for (let unit = 0; unit <= 0xffff; unit += 1) {
      const text = `a${String.fromCharCode(unit)}b`;
      expect(canonicalJson(text)).toBe(reference(text));
      expect(canonicalJson({ [text]: 1 })).toBe(reference({ [text]: 1 }));
    }
    for (const text of ["\ud83d\ude00", "x\ud83dy", "\ude00", "\u2028\u2029\u007f", ""]) expect(canonicalJson([text])).toBe(reference([text]));
  });

  it("writes what the package writes for audit entry bodies", () => {
    const event = makeAuditEvent({ subject: "user 😀 ü \"q\"", details: { "2": 1, "10": true, b: null, a: "x\u2028y" }, dlpFindings: { email: 2, IBAN: 1 } });
    const body = { format: "palisade-audit-entry/v1", chain: "proj-a", seq: 12, ts: "2026-12-06T19:00:00.000Z", prev: "0".repeat(64), event };
    expect(canonicalJson(body)).toBe(reference(body));
  });

  it("leaves out undefined members, writes undefined array items as null and honours toJSON", () => {
    expect(canonicalJson({ b: undefined, a: [undefined, 1], d: new Date(Date.UTC(2026, 0, 1)) })).toBe('{"a":[null,1],"d":"2026-01-01T00:00:00.000Z"}');
  });

  it("writes each text whole when one call follows another of a different length, or runs inside one (a toJSON that canonicalises)", () => {
    const long = { z: "x".repeat(50), a: [1, 2, 3], m: { b: true, a: null } };
    const inner = { toJSON: () => canonicalJson({ y: 2, x: [1] }) };
    expect(canonicalJson(long)).toBe(reference(long));
    expect(canonicalJson({ b: 1 })).toBe('{"b":1}');
    expect(canonicalJson({ b: inner, a: "s" })).toBe('{"a":"s","b":"{\\"x\\":[1],\\"y\\":2}"}');
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(TypeError);
    expect(canonicalJson(long)).toBe(reference(long));
  });

  it("refuses NaN, the infinities and values JSON cannot hold, wherever they are", () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, { a: [1, Number.NaN] }, undefined, () => 1, { f: () => 1 }, 10n, Symbol("s")]) {
      expect(() => canonicalJson(bad), String(typeof bad)).toThrow(TypeError);
    }
  });
});
