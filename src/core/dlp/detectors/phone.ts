import { contextDelta, scoreWithContext } from "../context.js";
import { isValidInternationalNumber, isValidNationalNumber, regionRules } from "../phone/phoneNumberValidity.js";
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

/** Which way (if any) the digits are a valid national number of one of the regions. */
function nationalKind(digits: string, plan: RegionPlan): NationalKind {
  for (const [prefix, regions] of plan.byTrunkPrefix) {
    if (!digits.startsWith(prefix) || digits.startsWith("00")) continue;
    const national = digits.slice(prefix.length);
    for (const region of regions) if (isValidNationalNumber(national, region)) return "trunk";
  }
  if (plan.nanp.length > 0) {
    // NXX-NXX-XXXX: area code and exchange never start with 0 or 1.
    const ten = digits.length === 11 && digits.startsWith("1") ? digits.slice(1) : digits;
    if (ten.length === 10 && ten.charCodeAt(0) >= 50 && ten.charCodeAt(3) >= 50) for (const region of plan.nanp) if (isValidNationalNumber(ten, region)) return "trunk";
  }
  for (const region of plan.withoutTrunkPrefix) if (isValidNationalNumber(digits, region)) return "bare";
  return null;
}

/** The digits of text[from, to), joined from its digit groups (a regular-expression replace per candidate cost more). */
function digitsOf(text: string, from: number, to: number): string {
  let digits = "";
  let groupStart = -1;
  for (let i = from; i <= to; i += 1) {
    const code = i < to ? text.charCodeAt(i) : -1;
    if (code >= 48 && code <= 57) {
      if (groupStart === -1) groupStart = i;
    } else if (groupStart !== -1) {
      digits += text.slice(groupStart, i);
      groupStart = -1;
    }
  }
  return digits;
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
  const digits = digitsOf(text, position, end);
  const plus = lead === 43;
  const international = plus || (lead === 48 && text.charCodeAt(position + 1) === 48);
  const national = international && !plus ? digits.slice(2) : digits;
  if (national.length < 7 || national.length > 15) return -1;
  // Anything besides the digits and a leading "+" is phone punctuation (spaces, "-", ".", "/", brackets).
  const formatted = length > digits.length + (plus ? 1 : 0);
  if (international) {
    const score = scoreWithContext("PHONE_NUMBER", formatted ? 0.75 : 0.6, text, position);
    if (score < threshold || !isValidInternationalNumber(national)) return -1;
    out.push({ type: "PHONE_NUMBER", start: position, end, score });
    return end;
  }
  // National forms. Scored first (validation is the costly part): with a trunk prefix 0.6 formatted, 0.4 bare;
  // without one (Italian, Spanish, Danish numbers...) 0.45 formatted, 0.3 bare, so a phone word must be near.
  const withContext = contextDelta("PHONE_NUMBER", text, position);
  const best = (formatted ? 0.6 : 0.4) + withContext;
  if (best < threshold) return -1;
  const kind = nationalKind(digits, planFor(regions));
  if (kind === null) return -1;
  const base = kind === "trunk" ? (formatted ? 0.6 : 0.4) : formatted ? 0.45 : 0.3;
  const score = Math.max(0, Math.min(1, base + withContext));
  if (score < threshold) return -1;
  out.push({ type: "PHONE_NUMBER", start: position, end, score });
  return end;
}
