import canonicalizeModule from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { AuditAppender, type AuditMessage } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer, collect } from "../../../src/core/audit/AuditCheckpointer.js";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { parseEntryBody } from "../../../src/core/audit/ChainEntry.js";
import { sha256Hex } from "../../../src/core/audit/hashing.js";
import { verifyStoredChain } from "../../../src/core/audit/verifyStoredChain.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";

const reference = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The append's guarantees for random deliveries, whatever path each event takes (the validation's
 * fast path or the schema, objects, JSON text or bytes, chunks of any size): every chain verifies
 * (hash links, sequences, the canonical bytes re-derived by the verifier, dedupe rows, checkpoints),
 * every valid event is stored exactly once however often it is redelivered, each entry's bytes are the
 * reference RFC 8785 serialisation of its body, and its hash is SHA-256 over those bytes.
 */

/** Well-formed text: any code points (astral ones too), never a lone surrogate. */
const text = fc.string({ unit: "grapheme", maxLength: 12 });
const event = fc
  .record({
    project: fc.constantFrom("proj-a", "proj-b", "_system"),
    index: fc.nat(1_000),
    subject: fc.option(text, { nil: undefined }),
    reason: fc.option(text.filter((s) => s.length > 0), { nil: undefined }),
    latencyInMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
    details: fc.option(fc.dictionary(fc.oneof(text, fc.constantFrom("0", "1", "10", "9")), fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), { maxKeys: 4 }), { nil: undefined }),
  })
  .map(({ project, index, ...optional }): AuditEvent => {
    const defined = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined));
    return makeAuditEvent({ project, ...defined }, index);
  });

type Encoding = "object" | "text" | "bytes";
const encode = (value: AuditEvent, encoding: Encoding): unknown =>
  encoding === "object" ? JSON.parse(JSON.stringify(value)) : encoding === "text" ? JSON.stringify(value) : Buffer.from(JSON.stringify(value));

const scenario = fc.record({
  events: fc.array(event, { minLength: 1, maxLength: 40 }),
  // Deliveries: slices of the events, each event possibly delivered again later (a redelivery).
  cuts: fc.array(fc.nat(40), { maxLength: 4 }),
  redelivered: fc.array(fc.nat(39), { maxLength: 8 }),
  encodings: fc.array(fc.constantFrom<Encoding>("object", "text", "bytes"), { minLength: 1, maxLength: 5 }),
  maxEntriesPerCommit: fc.integer({ min: 1, max: 49 }),
});

describe("AuditAppender, property: random deliveries", () => {
  it("leaves every chain verifiable, every event stored once, in reference JCS bytes", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events, cuts, redelivered, encodings, maxEntriesPerCommit }) => {
        const ledger = new InMemoryAuditLedger({ maxEntriesPerCommit });
        const anchor = new InMemoryCheckpointAnchor();
        const signer = new InMemoryCheckpointSigner();
        const clock = new ManualClock();
        const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
        const appender = new AuditAppender({ ledger, clock, logger: silentLogger, checkpointer, checkpointEvery: 7 });
        const bounds = [0, ...cuts.filter((c) => c < events.length).sort((a, b) => a - b), events.length];
        const deliveries: AuditEvent[][] = [];
        for (let i = 1; i < bounds.length; i += 1) deliveries.push(events.slice(bounds[i - 1], bounds[i]));
        deliveries.push(redelivered.filter((i) => i < events.length).map((i) => events[i] as AuditEvent));
        let n = 0;
        for (const delivery of deliveries) {
          const batch: AuditMessage[] = delivery.map((e) => ({ messageId: `m${n}`, body: encode(e, encodings[n++ % encodings.length] as Encoding) }));
          const outcomes = await appender.append(batch);
          expect(outcomes.every((o) => o.status === "appended" || o.status === "duplicate")).toBe(true);
          clock.advance(1_000);
        }
        for (const chain of new Set(events.map((e) => e.project))) {
          const expected = events.filter((e) => e.project === chain).map((e) => e.eventId);
          const stored = await collect(ledger.listEntries(chain));
          expect(stored.map((s) => parseEntryBody(s.canonical)?.event.eventId)).toEqual(expected);
          for (const entry of stored) {
            expect(entry.canonical).toBe(reference(JSON.parse(entry.canonical)));
            expect(entry.hash).toBe(sha256Hex(entry.canonical));
          }
          const verified = await verifyStoredChain({ ledger, anchor, signatureVerifier: signer.verifier() }, chain);
          expect(verified).toMatchObject({ intact: true, entriesChecked: expected.length });
        }
      }),
      { numRuns: 60 },
    );
  });
});
