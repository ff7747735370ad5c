import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FoundScores, typeBit } from "../../../src/core/dlp/FoundScores.js";
import { type Candidate, type EntityType } from "../../../src/core/dlp/types.js";

const TYPES: readonly EntityType[] = ["PHONE_NUMBER", "API_KEY", "EMAIL_ADDRESS"];

/** The best score of `type` spanning exactly [start, end) among all candidates so far, by looking at each. */
function naive(candidates: readonly Candidate[], type: EntityType, start: number, end: number): number {
  let best = -1;
  for (const c of candidates) if (c.type === type && c.start === start && c.end === end && c.score > best) best = c.score;
  return best;
}

const candidate = (types: readonly EntityType[]): fc.Arbitrary<Candidate> =>
  fc.record({ type: fc.constantFrom(...types), start: fc.integer({ min: 0, max: 40 }), length: fc.integer({ min: 1, max: 3 }), score: fc.constantFrom(0.3, 0.75, 0.85, 1) }).map(({ type, start, length, score }) => ({ type, start, end: start + length, score }));

/** A detector's run: the types it declares, its candidates (in text order or not, as detectors may leave them), and the queries asked after it. */
const run = fc.subarray([...TYPES], { minLength: 1 }).chain((types) =>
  fc.record({
    types: fc.constant(types),
    candidates: fc.array(candidate(types), { maxLength: 30 }),
    sorted: fc.boolean(),
    // Queries in text order, in two passes (as the assignments ask, ":" then "="), or in any order.
    queries: fc.array(fc.record({ type: fc.constantFrom(...TYPES), start: fc.integer({ min: 0, max: 42 }), length: fc.integer({ min: 1, max: 3 }) }), { maxLength: 40 }),
    queryOrder: fc.constantFrom("ascending", "two passes", "any"),
  }),
);

describe("FoundScores", () => {
  it("gives the best score of exactly that span and type in the runs so far, whatever the order of runs and queries (property)", () => {
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 6 }), (runs) => {
        const candidates: Candidate[] = [];
        const runEnds: number[] = [];
        const ascending: boolean[] = [];
        const runTypes: number[] = [];
        const found = new FoundScores(candidates, runEnds, ascending, runTypes);
        for (const r of runs) {
          const own = r.sorted ? [...r.candidates].sort((a, b) => a.start - b.start) : r.candidates;
          candidates.push(...own);
          ascending.push(own.every((c, i) => i === 0 || (own[i - 1]?.start ?? 0) <= c.start));
          runTypes.push(r.types.reduce((bits, type) => bits | typeBit(type), 0));
          runEnds.push(candidates.length);
          const byStart = [...r.queries].sort((a, b) => a.start - b.start);
          const half = r.queries.length >> 1;
          const queries =
            r.queryOrder === "ascending" ? byStart : r.queryOrder === "two passes" ? [...[...r.queries.slice(0, half)].sort((a, b) => a.start - b.start), ...[...r.queries.slice(half)].sort((a, b) => a.start - b.start)] : r.queries;
          for (const q of queries) expect(found.best(q.type, q.start, q.start + q.length)).toBe(naive(candidates, q.type, q.start, q.start + q.length));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("gives each entity type its own bit", () => {
    const bits = (["CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "API_KEY"] as const).map(typeBit);
    expect(new Set(bits).size).toBe(7);
    expect(bits.reduce((all, bit) => all | bit, 0)).toBe(0x7f);
  });
});
