import { SECRET_RULES } from "./secretRules.js";
import { VENDOR_NAMES } from "./vendorNames.js";

/**
 * gitleaks rules that Palisade covers with a detector rather than a rule of the table: values assigned
 * to secret-like names (detectAssignments) and credentials in URLs and `curl -u` (detectCredentialPairs).
 */
const COVERED_BY_DETECTORS = ["generic-api-key", "database-password", "hashicorp-tf-password", "freemius-secret-key", "curl-auth-user", "sidekiq-sensitive-url"];

/** Every gitleaks rule id that some Palisade rule or detector covers (docs/dlp.md quotes the count). */
export function coveredGitleaksRuleIds(): ReadonlySet<string> {
  return new Set([
    ...SECRET_RULES.flatMap((rule) => [rule.id, ...(rule.alsoCovers ?? [])]),
    ...VENDOR_NAMES.flatMap((vendor) => vendor.ids),
    ...COVERED_BY_DETECTORS,
  ]);
}
