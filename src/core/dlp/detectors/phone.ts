import { contextDelta, scoreWithContext } from "../context.js";
import { isValidInternationalDigits, isValidNationalDigits, regionRules, startsWithDigits } from "../phone/phoneNumberValidity.js";
import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";

// Digits with the usual phone punctuation, optionally "+" or "00" first; not glued to words or ids (a "tel:" URI is fine).
// A "," after it ends it: in a CSV row the next field may be another number ("...,+49 30 901820,149.90").
const CANDIDATE = /(?<![\w+\-./#@=$€£%])(?:(?<=tel:)|(?<!:))(?:\+ ?|00)?(?:\(\d{1,5}\)|\d)(?:(?: ?[-./] ?| {1,2})?(?:\(\d{1,5}\)|\d)){5,17}(?![\w@%]|[-./:]\d)/y;
// Dates, dotted quads, ZIP+4 and SSN shapes: one test. None is longer than 15 characters.
const NOT_A_PHONE = /^(?:\d{4}[-/. ]\d{1,2}[-/. ]\d{1,2}|\d{1,2}[-/. ]\d{1,2}[-/. ]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}|\d{5}-\d{4}|\d{3}([- .])\d{2}\1\d{4})$/;
const NANP = new Set(["US", "CA", "PR", "GU", "VI", "AS", "MP", "AG", "AI", "BB", "BM", "BS", "DM", "DO", "GD", "JM", "KN", "KY", "LC", "MS", "SX", "TC", "TT", "VC", "VG"]);

/** A policy's regions, grouped once by how their national numbers are written. */
interface RegionPlan {
  /** Trunk prefix ("0", "06", "8") -> regions that use it. */
  readonly byTrunkPrefix: ReadonlyMap<string, readonly string[]>;
  /** Regions without a trunk prefix (IT, ES, PT, GR, DK, NO, ...): their numbers are bare digits, so they need more evidence. */
  readonly withoutTrunkPrefix: readonly string[];
  readonly nanp: readonly string[];
}

const plans = new Map<string, RegionPlan>();
const planByList = new WeakMap<readonly string[], RegionPlan>();

function planFor(regions: readonly string[]): RegionPlan {
  const known = planByList.get(regions);
  if (known !== undefined) return known;
  const key = regions.join(",");
  let plan = plans.get(key);
  if (plan !== undefined) {
    planByList.set(regions, plan);
    return plan;
  }
  const byTrunkPrefix = new Map<string, string[]>();
  const withoutTrunkPrefix: string[] = [];
  const nanp: string[] = [];
  for (const region of regions) {
    const rules = regionRules(region);
    if (rules === null) continue;
    if (NANP.has(region)) nanp.push(region);
    else if (rules.nationalPrefix === null) withoutTrunkPrefix.push(region);
    else byTrunkPrefix.set(rules.nationalPrefix, [...(byTrunkPrefix.get(rules.nationalPrefix) ?? []), region]);
  }
  plan = { byTrunkPrefix, withoutTrunkPrefix, nanp };
  if (plans.size > 64) plans.clear();
  plans.set(key, plan);
  planByList.set(regions, plan);
  return plan;
}

type NationalKind = "trunk" | "bare" | null;

/** Which way (if any) digits[0, length) are a valid national number of one of the regions. */
function nationalKind(digits: Uint8Array, length: number, plan: RegionPlan): NationalKind {
  const international = digits[0] === 0 && digits[1] === 0;
  for (const [prefix, regions] of plan.byTrunkPrefix) {
    if (international || !startsWithDigits(digits, 0, length, prefix)) continue;
    for (const region of regions) if (isValidNationalDigits(digits, prefix.length, length, region)) return "trunk";
  }
  if (plan.nanp.length > 0) {
    // NXX-NXX-XXXX: area code and exchange never start with 0 or 1.
    const from = length === 11 && digits[0] === 1 ? 1 : 0;
    if (length - from === 10 && (digits[from] ?? 0) >= 2 && (digits[from + 3] ?? 0) >= 2) for (const region of plan.nanp) if (isValidNationalDigits(digits, from, length, region)) return "trunk";
  }
  for (const region of plan.withoutTrunkPrefix) if (isValidNationalDigits(digits, 0, length, region)) return "bare";
  return null;
}

/**
 * The candidate's digit values, written into one buffer reused by every candidate (no string per
 * candidate: the validators read the buffer). At most 18 groups of up to 5 digits fit the candidate expression.
 */
const digits = new Uint8Array(128);

/** Writes the digits of text[from, to) into `digits`; returns how many. */
function readDigits(text: string, from: number, to: number): number {
  const units = codeUnitsOf(text);
  let count = 0;
  for (let i = from; i < to; i += 1) {
    const value = (units[i] ?? 0) - 48;
    if (value >= 0 && value <= 9) {
      digits[count] = value;
      count += 1;
    }
  }
  return count;
}

/** Tries a phone number starting exactly at `position`; returns its end, or -1. */
export function phoneNumberAt(text: string, position: number, out: Candidate[], regions: readonly string[], threshold = 0): number {
  CANDIDATE.lastIndex = position;
  // test, not exec: no match array and no match string for the common case.
  if (!CANDIDATE.test(text)) return -1;
  const end = CANDIDATE.lastIndex;
  const length = end - position;
  // Dates, quads, ZIP+4 and SSN shapes start with a digit: a "+" or "(" start skips the test (and its slice).
  const lead = text.charCodeAt(position);
  if (length <= 15 && lead >= 48 && lead <= 57 && NOT_A_PHONE.test(text.slice(position, end))) return -1;
  const count = readDigits(text, position, end);
  const plus = lead === 43;
  const international = plus || (lead === 48 && text.charCodeAt(position + 1) === 48);
  const nationalFrom = international && !plus ? 2 : 0;
  if (count - nationalFrom < 7 || count - nationalFrom > 15) return -1;
  // Anything besides the digits and a leading "+" is phone punctuation (spaces, "-", ".", "/", brackets).
  const formatted = length > count + (plus ? 1 : 0);
  if (international) {
    const score = scoreWithContext("PHONE_NUMBER", formatted ? 0.75 : 0.6, text, position);
    if (score < threshold || !isValidInternationalDigits(digits, nationalFrom, count)) return -1;
    out.push({ type: "PHONE_NUMBER", start: position, end, score });
    return end;
  }
  // National forms. Scored first (validation is the costly part): with a trunk prefix 0.6 formatted, 0.4 bare;
  // without one (Italian, Spanish, Danish numbers...) 0.45 formatted, 0.3 bare, so a phone word must be near.
  const withContext = contextDelta("PHONE_NUMBER", text, position);
  const best = (formatted ? 0.6 : 0.4) + withContext;
  if (best < threshold) return -1;
  const kind = nationalKind(digits, count, planFor(regions));
  if (kind === null) return -1;
  const base = kind === "trunk" ? (formatted ? 0.6 : 0.4) : formatted ? 0.45 : 0.3;
  const score = Math.max(0, Math.min(1, base + withContext));
  if (score < threshold) return -1;
  out.push({ type: "PHONE_NUMBER", start: position, end, score });
  return end;
}
