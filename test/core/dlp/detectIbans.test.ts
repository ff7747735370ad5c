import fc from "fast-check";
import { countrySpecs } from "ibantools";
import { describe, expect, it } from "vitest";
import { scoreWithContext } from "../../../src/core/dlp/context.js";
import { detectIbans } from "../../../src/core/dlp/detectors/iban.js";
import { isValidIban } from "../../../src/core/dlp/detectors/isValidIban.js";
import { type Candidate } from "../../../src/core/dlp/types.js";

// The detector before it read candidates in one walk (commit c91c349^), kept as the oracle: same verdicts, same spans.
const CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \r\n]{0,2}[A-Za-z0-9]){8,32}/g;
const ALNUM = /[A-Za-z0-9]/;
function referenceIbans(text: string): Candidate[] {
  const out: Candidate[] = [];
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    const match = m[0];
    const length = countrySpecs[match.slice(0, 2).toUpperCase()]?.chars;
    if (length === undefined || length === 0) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
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
    const value = match.slice(0, end);
    const bad =
      taken < length ||
      ALNUM.test(text.charAt(m.index + end)) ||
      !isValidIban(compact.toUpperCase()) ||
      (compact !== compact.toUpperCase() && compact !== compact.toLowerCase()) ||
      ((value.includes(" ") || value.includes("\n")) && !value.includes("\n") && !/^[A-Za-z0-9]{4}(?: [A-Za-z0-9]{4})*(?: [A-Za-z0-9]{1,4})?$/.test(value));
    if (bad) {
      CANDIDATE.lastIndex = m.index + 2;
      continue;
    }
    out.push({ type: "IBAN_CODE", start: m.index, end: m.index + end, score: scoreWithContext("IBAN_CODE", 0.9, text, m.index) });
    CANDIDATE.lastIndex = m.index + end;
  }
  return out;
}

const IBANS = ["DE89370400440532013000", "GB82WEST12345698765432", "NL91ABNA0417164300", "FR1420041010050500013M02606", "IT60X0542811101000000123456", "BE68539007547034"];

/** An IBAN written the ways texts write it (and ways they should not): spaced, wrapped, lower case, mixed, with stray blanks. */
const written = fc
  .tuple(fc.constantFrom(...IBANS), fc.array(fc.constantFrom("", "", "", " ", "  ", "\n", "\r\n", "\r", " \n"), { minLength: 34, maxLength: 34 }), fc.constantFrom("upper", "lower", "mixed"))
  .map(([iban, gaps, letterCase]) => {
    const cased = letterCase === "upper" ? iban : letterCase === "lower" ? iban.toLowerCase() : iban.slice(0, 6).toLowerCase() + iban.slice(6);
    return [...cased].map((ch, i) => ch + (i % 4 === 3 ? (gaps[i] ?? "") : (gaps[i] ?? "").trim() === "" && i % 7 === 0 ? (gaps[i] ?? "") : "")).join("");
  });

describe("detectIbans", () => {
  it("finds what the detector it replaced found, with the same spans and scores (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom("IBAN ", "Konto: ", "", "x"), written, fc.constantFrom("", ".", " by Friday", "0", "\nthanks", "A"), (before, iban, after) => {
        const text = before + iban + after;
        const out: Candidate[] = [];
        detectIbans(text, out);
        expect(out).toEqual(referenceIbans(text));
      }),
      { numRuns: 2000 },
    );
  });
  it("spaced in fours is accepted, other spacing and a lone carriage return are not", () => {
    const found = (text: string): string[] => {
      const out: Candidate[] = [];
      detectIbans(text, out);
      return out.map((c) => text.slice(c.start, c.end));
    };
    expect(found("IBAN DE89 3704 0044 0532 0130 00")).toEqual(["DE89 3704 0044 0532 0130 00"]);
    expect(found("IBAN DE89 370 40044 0532 0130 00")).toEqual([]);
    expect(found("IBAN DE89 3704 0044\r0532 0130 00")).toEqual([]);
    expect(found("IBAN DE89 3704 0044\r\n0532 0130 00")).toEqual(["DE89 3704 0044\r\n0532 0130 00"]);
  });
});
