import { type Candidate } from "../types.js";
import { creditCardAt } from "./creditCard.js";
import { phoneNumberAt } from "./phone.js";
import { usSsnAt } from "./usSsn.js";

/** Runs of at least seven digits with phone/card punctuation between them: the only places cards, SSNs and phones can be. */
const RUN = /\d(?:[ .\-/()]{0,3}\d){6,}/g;

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

/**
 * One pass finds the digit runs; the card, SSN and phone patterns are then tried (sticky) only at the
 * starts of digit groups inside a run, and at a "+" or "(" just before one.
 */
export function detectNumericRuns(text: string, out: Candidate[], detectors: NumericDetectors): void {
  RUN.lastIndex = 0;
  let cardFrom = 0;
  let ssnFrom = 0;
  let phoneFrom = 0;
  for (let m = RUN.exec(text); m !== null; m = RUN.exec(text)) {
    const runEnd = m.index + m[0].length;
    // A run glued to letters ("DE89 3704 ...", "INV2024 0001 ...") is part of an identifier, not a number of its own.
    if (WORD_BEFORE.test(text.charAt(m.index - 1))) continue;
    let skipUntil = 0;
    for (let p = m.index; p < runEnd; p += 1) {
      if (p < skipUntil || !isDigit(text.charCodeAt(p)) || (p > m.index && isDigit(text.charCodeAt(p - 1)))) continue;
      // Cards first: the digits inside a card are not also a phone number or an SSN.
      if (detectors.card && p >= cardFrom) {
        const end = creditCardAt(text, p, out);
        if (end !== -1) {
          cardFrom = end;
          skipUntil = end;
          continue;
        }
      }
      if (detectors.ssn && p >= ssnFrom) {
        const end = usSsnAt(text, p, out);
        if (end !== -1) ssnFrom = end;
      }
      if (detectors.phone) {
        // A leading "+", "+ " or "(" belongs to the phone number.
        let start = p;
        const before = text.charAt(p - 1);
        if (before === "(" || before === "+") start = p - 1;
        else if (before === " " && text.charAt(p - 2) === "+") start = p - 2;
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
