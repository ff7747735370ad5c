import { countrySpecs } from "ibantools";
import { scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";
import { isValidIban } from "./isValidIban.js";

// Country code, check digits, then BBAN characters in groups with at most one space, or one line break
// (an IBAN wrapped in an e-mail), between them.
const CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \r\n]{0,2}[A-Za-z0-9]){8,32}/g;
const ALNUM = /[A-Za-z0-9]/;

export function detectIbans(text: string, out: Candidate[]): void {
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    const match = m[0];
    const country = match.slice(0, 2).toUpperCase();
    const spec = countrySpecs[country];
    const length = spec?.chars;
    if (length === undefined || length === 0) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
    // Take exactly the country's length of characters; the next one must not continue the value.
    let taken = 0;
    let end = 0;
    let compact = "";
    for (let i = 0; i < match.length && taken < length; i += 1) {
      const ch = match.charAt(i);
      if (ch === " " || ch === "\n" || ch === "\r") continue;
      compact += ch;
      taken += 1;
      end = i + 1;
    }
    const after = text.charAt(m.index + end);
    const value = match.slice(0, end);
    const spaced = value.includes(" ") || value.includes("\n");
    const glued = ALNUM.test(after);
    if (taken < length || glued || !isValidIban(compact.toUpperCase())) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
    // Mixed case inside one value is not how IBANs are written.
    if (compact !== compact.toUpperCase() && compact !== compact.toLowerCase()) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
    // Spaced in fours; a value wrapped over a line break is trusted to its length and checksum alone.
    if (spaced && !value.includes("\n") && !/^[A-Za-z0-9]{4}(?: [A-Za-z0-9]{4})*(?: [A-Za-z0-9]{1,4})?$/.test(value)) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
    out.push({ type: "IBAN_CODE", start: m.index, end: m.index + end, score: scoreWithContext("IBAN_CODE", 0.9, text, m.index) });
    CANDIDATE.lastIndex = m.index + end;
  }
}
