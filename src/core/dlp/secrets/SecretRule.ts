import { type EntityType } from "../types.js";

/**
 * One secret format as data, in the manner of gitleaks' rules: a new format is one entry (and its
 * samples), never a change to the scanner. The scanner finds every keyword of every rule in ONE pass
 * over the text and tries a rule's pattern only where one of its keywords stands.
 */
export interface SecretRule {
  /** gitleaks' rule id where gitleaks has the rule, so coverage can be compared; else a Palisade id. */
  readonly id: string;
  readonly description: string;
  /** Other gitleaks rule ids this one rule covers (gitleaks has one rule per Slack token kind, say). */
  readonly alsoCovers?: readonly string[];
  /** Defaults to API_KEY. */
  readonly type?: EntityType;
  /** Literal, case-sensitive strings; a match always contains one, `keywordOffset` characters after its start. */
  readonly keywords: readonly string[];
  /**
   * Characters between the start of a match and its keyword: fixed (0 when the match starts with it), or
   * "token" when the match starts where the word holding the keyword starts (a URL's host, a bot id).
   */
  readonly keywordOffset?: number | "token";
  /** Sticky (`y`) expression tried where the match would start. */
  readonly pattern: RegExp;
  /** Capture groups that are the secret(s); default the whole match. Each non-empty group is one finding. */
  readonly secretGroups?: readonly number[];
  /** Shannon entropy (bits per character) the secret must reach. */
  readonly minEntropy?: number;
  /** Extra check on the secret (a checksum, a decodable header, a context word). */
  readonly validate?: (secret: string, text: string, start: number) => boolean;
  /** Where the finding ends when the match is only its start (a PEM block runs to its END line). */
  readonly extendTo?: (text: string, matchEnd: number, match: RegExpExecArray) => number;
  /** Patterns for documented examples and placeholders of this format, on top of the shared placeholder list. */
  readonly allowlist?: readonly RegExp[];
  /** Default 0.95 (a vendor prefix is strong evidence). */
  readonly score?: number;
  /** May the match be wrapped over line breaks (a terminal paste)? Default true for long single tokens. */
  readonly wraps?: boolean;
  /** Texts the rule must find (a finding of `type` overlapping `secret`) and texts where it must find nothing. */
  readonly samples: {
    readonly found: readonly { readonly text: string; readonly secret: string }[];
    readonly ignored: readonly string[];
  };
}
