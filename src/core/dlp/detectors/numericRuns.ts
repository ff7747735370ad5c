import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";
import { creditCardAt } from "./creditCard.js";
import { phoneNumberAt } from "./phone.js";
import { usSsnAt } from "./usSsn.js";

/** Runs of at least seven digits with phone/card punctuation between them: the only places cards, SSNs and phones can be. */
const RUN = /(?<!\d)\d(?:[ .\-/()\r\n]{0,3}\d){6,}/g;

const WORD_BEFORE = /[\p{L}_]/u;

export interface NumericDetectors {
  readonly card: boolean;
  readonly ssn: boolean;
  readonly phone: boolean;
  readonly phoneRegions: readonly string[];
  /** Phone candidates scoring below this are not validated. */
  readonly threshold: number;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** A letter or "_" just before a run glues it to an identifier. */
function isWordBefore(code: number): boolean {
  if (code < 0x80) return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  return WORD_BEFORE.test(String.fromCharCode(code));
}

/** ".", "-" or "/" before a digit group: the card, SSN and phone patterns all refuse to start there (their look-behinds). */
function isBlockedStart(code: number): boolean {
  return code === 46 || code === 45 || code === 47;
}

/** [ .\-/()\r\n]: what RUN allows between the digits of a run. */
function isRunSeparator(code: number): boolean {
  return code === 32 || code === 46 || code === 45 || code === 47 || code === 40 || code === 41 || code === 13 || code === 10;
}

/** Digits in the run `runStart` last walked back over (read right after the call: no object per run). */
let digitsInRun = 0;

/**
 * Where the run ending at `runEnd` (just after its last digit) starts: back over digits and over up to
 * three separators that have a digit before them. RUN is greedy and a match always takes the whole of
 * such a stretch, so this is the index `RUN.exec` reports, found without a match array and its string.
 * Counts the run's digits on the way (`digitsInRun`).
 */
export function runStart(text: string, runEnd: number): number {
  const units = codeUnitsOf(text);
  let start = runEnd - 1;
  let digits = 1;
  for (let i = start - 1; i >= 0; ) {
    const code = units[i] ?? 0;
    if (isDigit(code)) {
      start = i;
      digits += 1;
      i -= 1;
      continue;
    }
    let k = i;
    while (k >= 0 && i - k < 3 && isRunSeparator(units[k] ?? 0)) k -= 1;
    if (k < 0 || k === i || !isDigit(units[k] ?? 0)) break;
    i = k;
  }
  digitsInRun = digits;
  return start;
}

/** Where the run `nextRun` last found starts (read right after the call). */
let nextRunFrom = 0;

/** Where the run `nextRun` last found starts. */
export function lastRunFrom(): number {
  return nextRunFrom;
}

/**
 * The next run the RUN expression would match searching from `from` (its lastIndex): a digit without a
 * digit before it, then digits each after at most three separators, seven digits or more. Returns its end,
 * or -1; sets `nextRunFrom` and `digitsInRun`. A stretch with fewer digits is skipped whole: a match cannot
 * start inside it (a later start has a digit before it, or reaches a subset of its digits). Reads the
 * text's code units: past the first run of a dense text this is cheaper than the expression, which the
 * scan still uses to find the first run (prose, which has none, copies nothing).
 */
export function nextRun(units: Uint16Array, length: number, from: number): number {
  let i = from;
  while (i < length) {
    while (i < length && !isDigit(units[i] ?? 0)) i += 1;
    if (i >= length) return -1;
    // The look-behind: a digit right before (only where the search starts inside digits).
    if (i > 0 && isDigit(units[i - 1] ?? 0)) {
      while (i < length && isDigit(units[i] ?? 0)) i += 1;
      continue;
    }
    let digits = 1;
    let end = i + 1;
    for (;;) {
      let k = end;
      while (k < length && k - end < 3 && isRunSeparator(units[k] ?? 0)) k += 1;
      if (k >= length || !isDigit(units[k] ?? 0)) break;
      digits += 1;
      end = k + 1;
    }
    if (digits >= 7) {
      nextRunFrom = i;
      digitsInRun = digits;
      return end;
    }
    i = end;
  }
  return -1;
}

/**
 * One pass finds the digit runs; the card, SSN and phone patterns are then tried (sticky) only at the
 * starts of digit groups inside a run, and at a "+" or "(" just before one.
 */
export function detectNumericRuns(text: string, out: Candidate[], detectors: NumericDetectors): void {
  RUN.lastIndex = 0;
  let cardFrom = 0;
  let ssnFrom = 0;
  let phoneFrom = 0;
  // The first run by the expression (test, not exec: its end is lastIndex and its start is found by walking
  // back, no match array); the others by `nextRun` over the units the first run's walk made.
  if (!RUN.test(text)) return;
  const units = codeUnitsOf(text);
  for (let runEnd = RUN.lastIndex, runFrom = runStart(text, runEnd); runEnd !== -1; runEnd = nextRun(units, text.length, runEnd), runFrom = nextRunFrom) {
    // A run glued to letters ("DE89 3704 ...", "INV2024 0001 ...") is part of an identifier, not a number of its own.
    if (runFrom > 0 && isWordBefore(units[runFrom - 1] ?? 0)) continue;
    // Digits from the current position to the end of the run: a card needs 13, an SSN 9, and both lie inside the run.
    let digitsLeft = digitsInRun;
    let skipUntil = 0;
    let groupEnd = runFrom;
    for (let p = runFrom; p < runEnd; p = groupEnd) {
      // Each step takes one digit group (a digit not preceded by one) and the separators after it.
      groupEnd = p + 1;
      while (groupEnd < runEnd && isDigit(units[groupEnd] ?? 0)) groupEnd += 1;
      const digitsHere = digitsLeft;
      digitsLeft -= groupEnd - p;
      while (groupEnd < runEnd && !isDigit(units[groupEnd] ?? 0)) groupEnd += 1;
      const beforeCode = p > 0 ? (units[p - 1] ?? 0) : -1;
      if (p < skipUntil || isBlockedStart(beforeCode)) continue;
      // Cards first: the digits inside a card are not also a phone number or an SSN.
      if (detectors.card && p >= cardFrom && digitsHere >= 13) {
        const end = creditCardAt(text, p, out);
        if (end !== -1) {
          cardFrom = end;
          skipUntil = end;
          continue;
        }
      }
      if (detectors.ssn && p >= ssnFrom && digitsHere >= 9) {
        const end = usSsnAt(text, p, out);
        if (end !== -1) ssnFrom = end;
      }
      if (detectors.phone) {
        // A leading "+", "+ " or "(" belongs to the phone number.
        let start = p;
        if (beforeCode === 40 || beforeCode === 43) start = p - 1;
        else if (beforeCode === 32 && p >= 2 && units[p - 2] === 43) start = p - 2;
        if (start >= phoneFrom) {
          let end = phoneNumberAt(text, start, out, detectors.phoneRegions, detectors.threshold);
          if (end === -1 && start !== p) end = phoneNumberAt(text, p, out, detectors.phoneRegions, detectors.threshold);
          if (end !== -1) {
            phoneFrom = end;
            skipUntil = end;
          }
        }
      }
    }
  }
}
