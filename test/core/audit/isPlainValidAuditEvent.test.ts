import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditEventSchema, parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { isPlainValidAuditEvent, PLAIN_AUDIT_EVENT_FIELDS, PLAIN_AUDIT_EVENT_REQUIRED_FIELDS } from "../../../src/core/audit/isPlainValidAuditEvent.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";

/**
 * The append's fast path through validation may vouch for an event only when the wire schema accepts
 * it (the schema stays the one definition of a valid event): checked on events made of valid,
 * borderline and wrong field values, and on the events the gateway emits, which it must vouch for
 * (or the fast path would save nothing).
 */

const schemaAccepts = (value: unknown): boolean => auditEventSchema.safeParse(value).success;

const fullEvent = makeAuditEvent({
  environment: "prod",
  deployment: "gpt4o",
  endpointId: "weu-1",
  region: "westeurope",
  classification: "internal",
  tokens: { input: 812, cachedInput: 10, output: 214 },
  latencyInMs: 843,
  dlpFindings: { email: 1, IBAN: 0 },
  dlpAction: "redact",
  requestId: "req-1",
  traceId: "0af7651916cd43dd8448eb211c80319c",
  reason: "ok",
  contentDigest: "ab".repeat(32),
  subject: "enc:xyz",
  details: { note: "a", n: -1.5, flag: true, none: null },
});

/** Values around each rule: valid ones, limits, wrong types, surrogates, non-JSON numbers. */
const BORDERLINE: readonly unknown[] = [
  "",
    "x",
    "a".repeat(256),
    "a".repeat(257),
    "a".repeat(1024),
    "a".repeat(1025),
    "proj-a",
    "proj a",
    "\uD800",
    "ok \uD83D\uDE00",
    "2026-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00+01:00",
    "2026-01-01T00:00:00.123456Z",
    "ab".repeat(32),
    "AB".repeat(32),
    "api_call",
    "internal",
    "success",
    "service-account",
    -0,
    -1,
    0.5,
    99,
    100,
    599,
    600,
    2 ** 53,
    Number.NaN,
    Infinity,
    undefined,
    null,
    {},
    [],
    { input: 1, output: 2 },
    { input: 1, output: 2, extra: 3 },
    { input: -1, output: 2 },
    { kind: "user", id: "u" },
    { kind: "user" },
    { kind: "robot", id: "u" },
    { email: 1 },
    { email: 1.5 },
    { "\uD800": 1 },
    { note: "x".repeat(1025) },
    { note: { nested: true } },
];
const awkward = fc.oneof(fc.jsonValue(), fc.constantFrom(...BORDERLINE));

const mutatedEvent = fc
  .record({
    base: fc.constantFrom<Readonly<Record<string, unknown>>>({ ...makeAuditEvent() }, { ...fullEvent }),
    changes: fc.dictionary(fc.constantFrom(...PLAIN_AUDIT_EVENT_FIELDS, "extra", "__proto__", "constructor"), awkward, { maxKeys: 3 }),
    removed: fc.subarray([...PLAIN_AUDIT_EVENT_FIELDS], { maxLength: 2 }),
  })
  .map(({ base, changes, removed }) => {
    const event: Record<string, unknown> = { ...base };
    for (const key of removed) delete event[key];
    for (const [key, value] of Object.entries(changes)) Object.defineProperty(event, key, { value, enumerable: true, writable: true, configurable: true });
    return event;
  });

describe("isPlainValidAuditEvent", () => {
  it("knows exactly the schema's fields, and which are required", () => {
    const shape = auditEventSchema.shape;
    expect([...PLAIN_AUDIT_EVENT_FIELDS].sort()).toEqual(Object.keys(shape).sort());
    const required = Object.entries(shape)
      .filter(([, field]) => !field.safeParse(undefined).success)
      .map(([name]) => name);
    expect([...PLAIN_AUDIT_EVENT_REQUIRED_FIELDS].sort()).toEqual(required.sort());
  });

  it("vouches for the events the gateway emits, as JSON.parse hands them over", () => {
    for (const event of [makeAuditEvent(), fullEvent, makeAuditEvent({ type: "key_rotated", actor: { kind: "system", id: "rotateKeys" }, project: "_system" })]) {
      expect(isPlainValidAuditEvent(JSON.parse(JSON.stringify(event)))).toBe(true);
    }
  });

  it("never vouches for an event the schema refuses (valid, borderline and wrong fields)", () => {
    let vouched = 0;
    let refused = 0;
    fc.assert(
      fc.property(mutatedEvent, (event) => {
        if (isPlainValidAuditEvent(event)) {
          vouched += 1;
          expect(schemaAccepts(event)).toBe(true);
        } else if (!schemaAccepts(event)) refused += 1;
      }),
      { numRuns: 5_000 },
    );
    // The generator reaches both sides, or the property would say nothing.
    expect(vouched).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(1_000);
  });

  it("never vouches for an event the schema refuses: every field set to every borderline value", () => {
    let vouched = 0;
    for (const base of [makeAuditEvent(), fullEvent]) {
      for (const field of [...PLAIN_AUDIT_EVENT_FIELDS, "extra"]) {
        for (const value of BORDERLINE) {
          const event = { ...base, [field]: value };
          if (!isPlainValidAuditEvent(event)) continue;
          vouched += 1;
          expect(schemaAccepts(event), `${field} = ${JSON.stringify(value)}`).toBe(true);
        }
      }
    }
    expect(vouched).toBeGreaterThan(50);
  });

  it("leaves surrogates, class instances and inherited members to the schema", () => {
    expect(isPlainValidAuditEvent({ ...makeAuditEvent(), subject: "ok \uD83D\uDE00" })).toBe(false);
    expect(parseAuditEvent({ ...makeAuditEvent(), subject: "ok \uD83D\uDE00" }).ok).toBe(true);
    expect(isPlainValidAuditEvent(Object.assign(Object.create({ inherited: 1 }) as object, makeAuditEvent()))).toBe(false);
    expect(isPlainValidAuditEvent([makeAuditEvent()])).toBe(false);
  });

  it("gives parseAuditEvent the same event either way", () => {
    const event = JSON.parse(JSON.stringify(fullEvent)) as unknown;
    const fast = parseAuditEvent(event);
    const schema = auditEventSchema.safeParse(event);
    expect(fast).toEqual({ ok: true, event: schema.data });
  });
});
