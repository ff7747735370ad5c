import { detectEmails } from "./detectors/email.js";
import { detectIbans } from "./detectors/iban.js";
import { detectIpAddresses } from "./detectors/ipAddress.js";
import { detectNumericRuns } from "./detectors/numericRuns.js";
import { detectAssignments } from "./secrets/detectAssignments.js";
import { detectCredentialPairs } from "./secrets/detectCredentialPairs.js";
import { detectLabelledPasswords, PASSWORD_LABEL_STEMS } from "./secrets/detectLabelledPasswords.js";
import { SecretRuleScanner } from "./secrets/SecretRuleScanner.js";
import { SECRET_RULES } from "./secrets/secretRules.js";
import { type Candidate, type EntityType } from "./types.js";

/** What every detector receives besides the text. */
export interface DetectorContext {
  /** Entity types the caller wants; a detector whose types are all unwanted is not run. */
  readonly wants: (type: EntityType) => boolean;
  readonly phoneRegions: readonly string[];
  readonly threshold: number;
  /**
   * The best score an EARLIER detector in the list gave exactly this span as this type, or -1. A later
   * detector may skip validating a value already found as well as it would find it: the overlap rule
   * would keep the earlier one anyway (same span, score at least as high, first in text order).
   */
  readonly foundScore: (type: EntityType, start: number, end: number) => number;
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
  /**
   * Literal, case-sensitive strings, one of which stands in (or right before) everything the detector
   * finds. All detectors' keywords are found in ONE shared pass; the detector runs only when one of its
   * keywords was found, and gets their positions (ascending) as `keywordAt`, so it never scans the whole text.
   */
  readonly keywords?: readonly string[];
  readonly detect: (text: string, out: Candidate[], context: DetectorContext, keywordAt: readonly number[]) => void;
  /** Texts it must find `value` in (as `type`), and texts where the whole scan must find nothing: checked by a test for every detector. */
  readonly samples: {
    readonly found: readonly { readonly text: string; readonly value: string; readonly type: EntityType }[];
    readonly ignored: readonly string[];
  };
}

const secretRules = new SecretRuleScanner(SECRET_RULES);
const HAS_DIGIT = /\d/;
/** One function for the detectors that need a digit: the scan asks it once per text (DETECTORS share `needs` functions). */
const hasDigit = (text: string): boolean => HAS_DIGIT.test(text);

export const DETECTORS: readonly Detector[] = [
  {
    id: "numeric-runs",
    types: ["CREDIT_CARD", "US_SSN", "PHONE_NUMBER"],
    needs: hasDigit,
    detect: (text, out, context) =>
      detectNumericRuns(text, out, {
        card: context.wants("CREDIT_CARD"),
        ssn: context.wants("US_SSN"),
        phone: context.wants("PHONE_NUMBER"),
        phoneRegions: context.phoneRegions,
        threshold: context.threshold,
      }), samples: {
      found: [
        { text: "Visa 4111 1111\n1111 1111, exp 12/28", value: "4111 1111\n1111 1111", type: "CREDIT_CARD" },
        { text: "id,card,amount\n17,4111111111111111,149.90", value: "4111111111111111", type: "CREDIT_CARD" },
        { text: "SSN 536-22-8726", value: "536-22-8726", type: "US_SSN" },
        { text: "Anna Weber\nSenior Account Manager\nTel. 030 901820", value: "030 901820", type: "PHONE_NUMBER" },
        { text: "Bel me op 06 12345678", value: "06 12345678", type: "PHONE_NUMBER" },
        { text: "chiamami al 312 345 6789", value: "312 345 6789", type: "PHONE_NUMBER" },
        { text: "Kontakt: +48 22 123 45 67", value: "+48 22 123 45 67", type: "PHONE_NUMBER" },
      ],
      ignored: ["Invoice no. 0301234567 is due", "Rechnung Nr. 030 901820", "Bestellnummer 06 12345678", "batch 312 345 6789"],
    }, },
  { id: "iban", types: ["IBAN_CODE"], needs: hasDigit, detect: (text, out) => detectIbans(text, out), samples: {
      found: [
        { text: "IBAN DE89 3704 0044 0532 0130 00", value: "DE89 3704 0044 0532 0130 00", type: "IBAN_CODE" },
        { text: "Please pay to DE89 3704 0044\n0532 0130 00 by Friday", value: "DE89 3704 0044\n0532 0130 00", type: "IBAN_CODE" },
      ],
      ignored: ["IBAN DE89 3704 0044 0532 0130 01", "Please pay to DE89 3704 0044\n0532 0130 01 by Friday"],
    }, },
  { id: "ip-address", types: ["IP_ADDRESS"], needs: (text) => HAS_DIGIT.test(text) || text.includes("::"), detect: (text, out) => detectIpAddresses(text, out), samples: {
      found: [{ text: "blocked 203.0.113.7 after 5 failed logins", value: "203.0.113.7", type: "IP_ADDRESS" }],
      ignored: ["see Annex 2.1.1.4 of the contract", "\n2.1.1.4 Scope of the processing", "conforme à l'article 3.2.1.4", "version 1.2.3.4"],
    }, },
  { id: "email", types: ["EMAIL_ADDRESS"], needs: (text) => text.includes("@"), detect: (text, out) => detectEmails(text, out), samples: {
      found: [
        { text: "write to jürgen.müller@bücher.de", value: "jürgen.müller@bücher.de", type: "EMAIL_ADDRESS" },
        { text: "mailto:用户@例子.广告", value: "用户@例子.广告", type: "EMAIL_ADDRESS" },
      ],
      ignored: ["postgres://app:Xk9vQ2mP@db.example.com:5432/orders", "icon@2x.png"],
    }, },
  { id: "secret-rules", types: ["API_KEY"], keywords: secretRules.keywords, detect: (text, out, _context, keywordAt) => secretRules.scanAt(text, keywordAt, out), samples: {
      found: [{ text: "token ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", value: "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", type: "API_KEY" }],
      ignored: ["ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "AKIAXXXXXXXXXXXXXXXX"],
    }, },
  // Before the assignments: "db_password = ..." is a labelled password (0.85) too, and the assignment then skips validating it again.
  { id: "labelled-passwords", types: ["API_KEY"], keywords: PASSWORD_LABEL_STEMS, detect: (text, out, _context, keywordAt) => detectLabelledPasswords(text, keywordAt, out), samples: {
      found: [
        { text: "Your temporary password is Kx9!mW2q", value: "Kx9!mW2q", type: "API_KEY" },
        { text: "Ihr neues Passwort lautet: Sommer2024!", value: "Sommer2024!", type: "API_KEY" },
        { text: "Mot de passe : Soleil#4821", value: "Soleil#4821", type: "API_KEY" },
        { text: "contraseña: Playa_2024x", value: "Playa_2024x", type: "API_KEY" },
        { text: "Het wachtwoord is Fiets!7788", value: "Fiets!7788", type: "API_KEY" },
        { text: "password temporanea: Roma2024?x", value: "Roma2024?x", type: "API_KEY" },
      ],
      ignored: ["Passwort vergessen? Klicken Sie hier.", "password: required", "Mot de passe : ********", "the password policy requires 12 characters"],
    }, },
  { id: "secret-assignments", types: ["API_KEY"], needs: (text) => text.includes("=") || text.includes(":"), detect: (text, out, context) => detectAssignments(text, out, context.foundScore), samples: {
      found: [
        { text: 'db_password          = "Hx7!qPz2#Lm"', value: "Hx7!qPz2#Lm", type: "API_KEY" },
        { text: 'os.environ["AZURE_OPENAI_API_KEY"] = "3f9c2a7b1e4d8f0a6c5b2e9d7a1f4c8b"', value: "3f9c2a7b1e4d8f0a6c5b2e9d7a1f4c8b", type: "API_KEY" },
        { text: "ALGOLIA_ADMIN=Qm7Xc2Lp9Vt4Rk8Wn3Zs6Hb1Jd5Fg0Ay", value: "Qm7Xc2Lp9Vt4Rk8Wn3Zs6Hb1Jd5Fg0Ay", type: "API_KEY" },
      ],
      ignored: ["tokenizer: cl100k_base", "password: REPLACE_ME", 'api_key = "<your-key>"', "secret: changeme", "max_tokens: 4096"],
    }, },
  { id: "credential-pairs", types: ["API_KEY"], needs: (text) => text.includes(":"), detect: (text, out) => detectCredentialPairs(text, out), samples: {
      found: [
        { text: "postgres://app:Xk9vQ2mP@db.example.com:5432/orders", value: "Xk9vQ2mP", type: "API_KEY" },
        { text: "curl -u deploy:Zt8#kLm2qW https://ci.example.com", value: "Zt8#kLm2qW", type: "API_KEY" },
        { text: "login alice:Wq7!zP3mTx for the staging box", value: "Wq7!zP3mTx", type: "API_KEY" },
      ],
      ignored: ["https://user:password@example.com", "image nginx:1.25-alpine", "at 10:30:45", "std::vector", "redis://:@localhost:6379"],
    }, },
];
