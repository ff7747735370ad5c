import { DETECTORS, type DetectorContext } from "./detectors.js";
import { KeywordIndex } from "./KeywordIndex.js";
import { type NormalizedText, normalizeForScan, toOriginalRange } from "./normalizeForScan.js";
import { type Candidate, DEFAULT_PHONE_REGIONS, DEFAULT_THRESHOLD, type Finding, type ScanOptions } from "./types.js";

/** Compared without case, whitespace and punctuation, so "+1 800 555 0100" allows "1-800-555-0100"... after the country code. */
export function allowlistKey(value: string): string {
  return value.toLowerCase().replace(/[^\p{L}\p{N}@]/gu, "");
}

/** Every detector's keywords, found in one pass per text. */
const KEYWORDS = new KeywordIndex(DETECTORS.map((detector) => detector.keywords ?? []));

function runDetectors(text: string, options: ScanOptions): Candidate[] {
  const wanted = options.entities;
  const context: DetectorContext = {
    wants: (type) => wanted === undefined || wanted.includes(type),
    phoneRegions: options.phoneRegions ?? DEFAULT_PHONE_REGIONS,
    threshold: options.threshold ?? DEFAULT_THRESHOLD,
  };
  const out: Candidate[] = [];
  const keywordAt = KEYWORDS.find(text);
  DETECTORS.forEach((detector, i) => {
    if (!detector.types.some(context.wants)) return;
    if (detector.needs !== undefined && !detector.needs(text)) return;
    const at = keywordAt[i] ?? [];
    if (detector.keywords !== undefined && at.length === 0) return;
    detector.detect(text, out, context, at);
  });
  return out;
}

/** Keeps the best of overlapping candidates: higher score, then longer, then earlier. Overlaps are local, so each cluster is ranked on its own. */
function resolveOverlaps(candidates: Candidate[]): Candidate[] {
  if (candidates.length < 2) return candidates;
  const byStart = [...candidates].sort((a, b) => a.start - b.start);
  const kept: Candidate[] = [];
  let cluster: Candidate[] = [];
  let clusterEnd = -1;
  const flush = (): void => {
    if (cluster.length === 1 && cluster[0] !== undefined) kept.push(cluster[0]);
    else if (cluster.length > 1) {
      const ranked = cluster.sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
      const chosen: Candidate[] = [];
      for (const candidate of ranked) if (!chosen.some((k) => candidate.start < k.end && k.start < candidate.end)) chosen.push(candidate);
      kept.push(...chosen.sort((a, b) => a.start - b.start));
    }
    cluster = [];
  };
  for (const candidate of byStart) {
    if (candidate.start >= clusterEnd) flush();
    cluster.push(candidate);
    clusterEnd = Math.max(clusterEnd, candidate.end);
  }
  flush();
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
  const candidates = runDetectors(text, options).filter(
    (c) => c.score >= threshold && c.start >= fromIndex && (allow === null || !allow.has(allowlistKey(text.slice(c.start, c.end)))),
  );
  return resolveOverlaps(candidates).map((c) => {
    const [start, end] = toOriginalRange(normalized, c.start, c.end);
    return { type: c.type, start, end, score: Math.round(c.score * 100) / 100 };
  });
}

/**
 * Finds personal data and secrets. Synchronous and allocation-light; the gateway runs it under the
 * policy's time budget and blocks the request when it throws or overruns (fail closed).
 */
export function scan(text: string, options: ScanOptions = {}): Finding[] {
  return scanNormalized(normalizeForScan(text), options);
}
