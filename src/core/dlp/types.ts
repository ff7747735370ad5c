/** Entity names follow Microsoft Presidio, so findings read the same across tools. */
export const ENTITY_TYPES = ["CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "API_KEY"] as const;

export type EntityType = (typeof ENTITY_TYPES)[number];

/** One detected value: UTF-16 offsets into the ORIGINAL text, end exclusive. Never the value itself. */
export interface Finding {
  readonly type: EntityType;
  readonly start: number;
  readonly end: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
}

export interface ScanOptions {
  /** Findings scoring below this are dropped. Default 0.5 (the policy's default). */
  readonly threshold?: number;
  /** Terms never flagged; compared without case, spaces and punctuation. */
  readonly allowlist?: readonly string[];
  /** ISO 3166-1 alpha-2 regions whose national phone formats are recognised. Default every EU/EEA country, CH, GB and US. */
  readonly phoneRegions?: readonly string[];
  /** Only these detectors run. Default all. */
  readonly entities?: readonly EntityType[];
}

/** A detector's raw result, in offsets of the normalised text. */
export interface Candidate {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

export const DEFAULT_THRESHOLD = 0.5;
export { DEFAULT_PHONE_REGIONS } from "../policy/phoneRegions.js";
