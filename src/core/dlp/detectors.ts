import { detectEmails } from "./detectors/email.js";
import { detectIbans } from "./detectors/iban.js";
import { detectIpAddresses } from "./detectors/ipAddress.js";
import { detectNumericRuns } from "./detectors/numericRuns.js";
import { detectAssignments } from "./secrets/detectAssignments.js";
import { detectCredentialPairs } from "./secrets/detectCredentialPairs.js";
import { detectLabelledPasswords } from "./secrets/detectLabelledPasswords.js";
import { SecretRuleScanner } from "./secrets/SecretRuleScanner.js";
import { SECRET_RULES } from "./secrets/secretRules.js";
import { type Candidate, type EntityType } from "./types.js";

/** What every detector receives besides the text. */
export interface DetectorContext {
  /** Entity types the caller wants; a detector whose types are all unwanted is not run. */
  readonly wants: (type: EntityType) => boolean;
  readonly phoneRegions: readonly string[];
  readonly threshold: number;
}

/**
 * One detector: the same signature for all, listed as data below, so the scan loop never changes when a
 * format is added. Prefixed secrets are one detector driven by a rule table (secrets/rules/*).
 */
export interface Detector {
  readonly id: string;
  readonly types: readonly EntityType[];
  /** Skip the detector when the text lacks all of these (cheap checks before any regular expression). */
  readonly needs?: (text: string) => boolean;
  readonly detect: (text: string, out: Candidate[], context: DetectorContext) => void;
}

const secretRules = new SecretRuleScanner(SECRET_RULES);
const HAS_DIGIT = /\d/;

export const DETECTORS: readonly Detector[] = [
  {
    id: "numeric-runs",
    types: ["CREDIT_CARD", "US_SSN", "PHONE_NUMBER"],
    needs: (text) => HAS_DIGIT.test(text),
    detect: (text, out, context) =>
      detectNumericRuns(text, out, {
        card: context.wants("CREDIT_CARD"),
        ssn: context.wants("US_SSN"),
        phone: context.wants("PHONE_NUMBER"),
        phoneRegions: context.phoneRegions,
        threshold: context.threshold,
      }),
  },
  { id: "iban", types: ["IBAN_CODE"], needs: (text) => HAS_DIGIT.test(text), detect: (text, out) => detectIbans(text, out) },
  { id: "ip-address", types: ["IP_ADDRESS"], needs: (text) => HAS_DIGIT.test(text) || text.includes("::"), detect: (text, out) => detectIpAddresses(text, out) },
  { id: "email", types: ["EMAIL_ADDRESS"], needs: (text) => text.includes("@"), detect: (text, out) => detectEmails(text, out) },
  { id: "secret-rules", types: ["API_KEY"], detect: (text, out) => secretRules.scan(text, out) },
  { id: "secret-assignments", types: ["API_KEY"], needs: (text) => text.includes("=") || text.includes(":"), detect: (text, out) => detectAssignments(text, out) },
  { id: "labelled-passwords", types: ["API_KEY"], detect: (text, out) => detectLabelledPasswords(text, out) },
  { id: "credential-pairs", types: ["API_KEY"], needs: (text) => text.includes(":"), detect: (text, out) => detectCredentialPairs(text, out) },
];
