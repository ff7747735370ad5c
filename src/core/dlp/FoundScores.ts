import { type Candidate, ENTITY_TYPES, type EntityType } from "./types.js";

/** One bit per entity type, so a run's types are tested with one AND (a keyed look-up by a type not known in advance is generic). */
export function typeBit(type: EntityType): number {
  let index = 0;
  while (index < ENTITY_TYPES.length - 1 && ENTITY_TYPES[index] !== type) index += 1;
  return 1 << index;
}

/**
 * Answers `DetectorContext.foundScore` over the detector runs so far. Only runs of detectors that can
 * find the type are searched (an API key is never in the phone, IBAN, IP or e-mail runs, which hold most
 * candidates of a dense text), and in an ascending run the search goes on from where the last one ended
 * when the starts asked for ascend (the assignments ask in text order), so a query is a step or two, not
 * a binary search per run.
 */
export class FoundScores {
  readonly #candidates: readonly Candidate[];
  readonly #runEnds: readonly number[];
  readonly #ascending: readonly boolean[];
  readonly #runTypes: readonly number[];
  /** Per run: where the last search stopped (the first candidate starting at or after `#lastStart[r]`), and that start. */
  readonly #cursor: number[] = [];
  readonly #lastStart: number[] = [];

  constructor(candidates: readonly Candidate[], runEnds: readonly number[], ascending: readonly boolean[], runTypes: readonly number[]) {
    this.#candidates = candidates;
    this.#runEnds = runEnds;
    this.#ascending = ascending;
    this.#runTypes = runTypes;
  }

  best(type: EntityType, start: number, end: number): number {
    const bit = typeBit(type);
    let best = -1;
    for (let r = 0, from = 0; r < this.#runEnds.length; from = this.#runEnds[r] ?? 0, r += 1) {
      if (((this.#runTypes[r] ?? 0) & bit) === 0) continue;
      const to = this.#runEnds[r] ?? 0;
      if (this.#ascending[r] === true) best = Math.max(best, this.#inAscendingRun(r, from, to, type, start, end));
      else best = Math.max(best, scoreAmong(this.#candidates, from, to, type, start, end));
    }
    return best;
  }

  #inAscendingRun(r: number, from: number, to: number, type: EntityType, start: number, end: number): number {
    const candidates = this.#candidates;
    let i: number;
    const cursor = this.#cursor[r];
    if (cursor !== undefined && start >= (this.#lastStart[r] ?? 0)) {
      i = cursor;
      while (i < to && (candidates[i]?.start ?? 0) < start) i += 1;
    } else {
      // First candidate starting at or after `start`.
      i = from;
      let hi = to;
      while (i < hi) {
        const mid = (i + hi) >> 1;
        if ((candidates[mid]?.start ?? 0) < start) i = mid + 1;
        else hi = mid;
      }
    }
    this.#cursor[r] = i;
    this.#lastStart[r] = start;
    let best = -1;
    for (; i < to; i += 1) {
      const c = candidates[i] as Candidate;
      if (c.start > start) break;
      if (c.end === end && c.type === type && c.score > best) best = c.score;
    }
    return best;
  }
}

/** The best score a candidate of `type` spanning exactly [start, end) has in candidates[from, to) (in any order), or -1. */
function scoreAmong(candidates: readonly Candidate[], from: number, to: number, type: EntityType, start: number, end: number): number {
  let best = -1;
  for (let i = from; i < to; i += 1) {
    const c = candidates[i] as Candidate;
    if (c.start === start && c.end === end && c.type === type && c.score > best) best = c.score;
  }
  return best;
}
