import { releaseCodeUnits } from "./codeUnits.js";
import { DETECTORS, type DetectorContext } from "./detectors.js";
import { FoundScores, typeBit } from "./FoundScores.js";
import { KeywordIndex } from "./KeywordIndex.js";
import { type NormalizedText, normalizeForScan, toOriginalRange } from "./normalizeForScan.js";
import { type Candidate, DEFAULT_PHONE_REGIONS, DEFAULT_THRESHOLD, type Finding, type ScanOptions } from "./types.js";

/** Compared without case, whitespace and punctuation, so "+1 800 555 0100" allows "1-800-555-0100"... after the country code. */
export function allowlistKey(value: string): string {
  return value.toLowerCase().replace(/[^\p{L}\p{N}@]/gu, "");
}

/** Every detector's keywords, found in one pass per text. */
const KEYWORDS = new KeywordIndex(DETECTORS.map((detector) => detector.keywords ?? []));

/** Per detector, the bits (`typeBit`) of the types it can find. */
const DETECTOR_TYPE_BITS = DETECTORS.map((detector) => detector.types.reduce((bits, type) => bits | typeBit(type), 0));

/** Whether candidates[from, to) are in ascending start order (each detector's usually are). */
function isAscending(candidates: readonly Candidate[], from: number, to: number): boolean {
  for (let i = from + 1; i < to; i += 1) if ((candidates[i - 1]?.start ?? 0) > (candidates[i]?.start ?? 0)) return false;
  return true;
}

/** Every detector's candidates, where each detector's run of them ends in the array, and whether each run is in text order. */
function runDetectors(text: string, options: ScanOptions): { candidates: Candidate[]; runEnds: number[]; ascending: boolean[] } {
  const wanted = options.entities;
  const candidates: Candidate[] = [];
  const runEnds: number[] = [];
  const ascending: boolean[] = [];
  const runTypes: number[] = [];
  const found = new FoundScores(candidates, runEnds, ascending, runTypes);
  const context: DetectorContext = {
    wants: (type) => wanted === undefined || wanted.includes(type),
    phoneRegions: options.phoneRegions ?? DEFAULT_PHONE_REGIONS,
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
    foundScore: (type, start, end) => found.best(type, start, end),
  };
  const keywordAt = KEYWORDS.find(text);
  // Detectors may share a `needs` function (a digit anywhere): asked once per text (on a short streamed step each test was a pass over it).
  let lastNeeds: ((text: string) => boolean) | undefined;
  let lastVerdict = true;
  DETECTORS.forEach((detector, i) => {
    if (!detector.types.some(context.wants)) return;
    if (detector.needs !== undefined) {
      if (detector.needs !== lastNeeds) {
        lastNeeds = detector.needs;
        lastVerdict = detector.needs(text);
      }
      if (!lastVerdict) return;
    }
    const at = keywordAt[i] ?? [];
    if (detector.keywords !== undefined && at.length === 0) return;
    const from = candidates.length;
    detector.detect(text, candidates, context, at);
    ascending.push(isAscending(candidates, from, candidates.length));
    runTypes.push(DETECTOR_TYPE_BITS[i] ?? 0);
    runEnds.push(candidates.length);
  });
  return { candidates, runEnds, ascending };
}

const byStart = (a: Candidate, b: Candidate): number => a.start - b.start;
/** Past every start (offsets are below 2^31). */
const NO_START = 0x7fffffff;

/** Keeps the best of a cluster of overlapping candidates: higher score, then longer, then earlier. */
function bestOfCluster(cluster: Candidate[], kept: Candidate[]): void {
  const ranked = cluster.sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const chosen: Candidate[] = [];
  for (const candidate of ranked) if (!chosen.some((k) => candidate.start < k.end && k.start < candidate.end)) chosen.push(candidate);
  for (const candidate of chosen.sort(byStart)) kept.push(candidate);
}

/**
 * The kept candidates in text order (by start, then detector order), the best of each cluster of
 * overlapping ones (overlaps are local, so each cluster is ranked on its own). Each detector finds its
 * candidates front to back, so the array is a few ascending runs: they are merged (a fraction of sorting
 * objects with a comparator) and the overlaps resolved in the same loop, with no array in between.
 */
function keptInTextOrder(candidates: Candidate[], runEnds: readonly number[], ascending: readonly boolean[], keep: (c: Candidate) => boolean): Candidate[] {
  const heads: number[] = [];
  const ends: number[] = [];
  let from = 0;
  runEnds.forEach((end, r) => {
    if (end > from) {
      if (ascending[r] !== true) {
        // Written back one by one: spreading a large run into splice() could overflow the stack.
        const sorted = candidates.slice(from, end).sort(byStart);
        for (let i = 0; i < sorted.length; i += 1) candidates[from + i] = sorted[i] as Candidate;
      }
      heads.push(from);
      ends.push(end);
    }
    from = end;
  });
  // The next start of each run, in a typed array: choosing the run to take from reads small integers, not a candidate per run.
  const nextStart = Int32Array.from(heads, (head) => candidates[head]?.start ?? 0);
  const kept: Candidate[] = [];
  // Most candidates overlap nothing: a cluster array is made only when one does.
  let single: Candidate | null = null;
  let cluster: Candidate[] | null = null;
  let clusterEnd = -1;
  for (;;) {
    let best = -1;
    let bestStart = NO_START;
    for (let r = 0; r < nextStart.length; r += 1) {
      const start = nextStart[r] ?? NO_START;
      if (start < bestStart) {
        best = r;
        bestStart = start;
      }
    }
    if (best === -1) break;
    const head = heads[best] ?? 0;
    heads[best] = head + 1;
    nextStart[best] = head + 1 < (ends[best] ?? 0) ? (candidates[head + 1]?.start ?? 0) : NO_START;
    const candidate = candidates[head] as Candidate;
    if (!keep(candidate)) continue;
    if (candidate.start >= clusterEnd) {
      if (cluster !== null) bestOfCluster(cluster, kept);
      else if (single !== null) kept.push(single);
      single = candidate;
      cluster = null;
    } else if (cluster === null) cluster = single === null ? [candidate] : [single, candidate];
    else cluster.push(candidate);
    if (candidate.end > clusterEnd) clusterEnd = candidate.end;
  }
  if (cluster !== null) bestOfCluster(cluster, kept);
  else if (single !== null) kept.push(single);
  return kept;
}

export interface ScanNormalizedOptions extends ScanOptions {
  /** Candidates starting before this (normalised) offset are ignored: the streaming inspector's context prefix. */
  readonly fromIndex?: number;
}

/** Scans an already-normalised view and returns findings in offsets of the original it was made from. */
export function scanNormalized(normalized: NormalizedText, options: ScanNormalizedOptions = {}): Finding[] {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const fromIndex = options.fromIndex ?? 0;
  const allow = options.allowlist !== undefined && options.allowlist.length > 0 ? new Set(options.allowlist.map(allowlistKey)) : null;
  const text = normalized.text;
  let detected: ReturnType<typeof runDetectors>;
  try {
    detected = runDetectors(text, options);
  } finally {
    releaseCodeUnits();
  }
  const { candidates, runEnds, ascending } = detected;
  // The candidates are this scan's own objects: they become the findings in place (one object per value, not two).
  const findings: Finding[] = keptInTextOrder(candidates, runEnds, ascending, (c) => c.score >= threshold && c.start >= fromIndex && (allow === null || !allow.has(allowlistKey(text.slice(c.start, c.end)))));
  for (const c of findings as Candidate[]) {
    c.score = Math.round(c.score * 100) / 100;
    if (normalized.map !== null) [c.start, c.end] = toOriginalRange(normalized, c.start, c.end);
  }
  return findings;
}

/**
 * Finds personal data and secrets. Synchronous and allocation-light; the gateway runs it under the
 * policy's time budget and blocks the request when it throws or overruns (fail closed).
 */
export function scan(text: string, options: ScanOptions = {}): Finding[] {
  return scanNormalized(normalizeForScan(text), options);
}
