import { DATA_CLASSES, type DataClass } from "../policy/schema.js";

/**
 * Data classes from least to most sensitive: public < internal < confidential < pii < phi.
 * The order is the order of `DATA_CLASSES` in the policy schema.
 */
export function dataClassRank(dataClass: DataClass): number {
  return DATA_CLASSES.indexOf(dataClass);
}

/** The more sensitive of two classes. */
export function maxDataClass(a: DataClass, b: DataClass): DataClass {
  return dataClassRank(a) >= dataClassRank(b) ? a : b;
}

export interface ClassifyInput {
  /** From `x-data-classification`, when the caller sent it. */
  readonly declared: DataClass | undefined;
  /** The project's `defaultClassification`. */
  readonly projectDefault: DataClass;
  /**
   * What the DLP findings LEFT IN the prompt raise the request to (`dlpClassFor`), or null when
   * nothing sensitive is sent: DLP found nothing, or every finding was redacted.
   */
  readonly dlpRaisedTo: DataClass | null;
}

/**
 * The request's data class: the declared class (or the project's default), raised — never lowered —
 * by what DLP found in what is sent. A caller can declare a HIGHER class than DLP sees, never a lower one.
 *
 * The class says where the text may go, so it follows what the text holds when it leaves: a
 * redacted value never reaches the model, and findings that were redacted raise nothing (the
 * redacted prompt is served by the endpoints its declared or default class allows). Findings that
 * are sent as they are (`allow`, `route`) raise the class. See docs/routing.md, section 1.
 */
export function classify(input: ClassifyInput): DataClass {
  const base = input.declared ?? input.projectDefault;
  return input.dlpRaisedTo === null ? base : maxDataClass(base, input.dlpRaisedTo);
}

/**
 * The class each DLP entity type raises a request to. Personal data is pii; a credential alone is
 * confidential (it is a secret of the caller's organisation, not data about a person).
 */
export const DLP_ENTITY_CLASSES: Readonly<Record<string, DataClass>> = {
  CREDIT_CARD: "pii",
  US_SSN: "pii",
  IBAN_CODE: "pii",
  EMAIL_ADDRESS: "pii",
  PHONE_NUMBER: "pii",
  IP_ADDRESS: "pii",
  API_KEY: "confidential",
};

/** An entity type this table does not know (a detector added later) is treated as personal data. */
export const UNKNOWN_DLP_ENTITY_CLASS: DataClass = "pii";

/**
 * The class DLP findings raise a request to: the most sensitive class among the finding types,
 * or null when there are none. Unknown types count as pii, so a new detector can never lower protection.
 */
export function dlpClassFor(findingTypes: readonly string[]): DataClass | null {
  let raised: DataClass | null = null;
  for (const type of findingTypes) {
    const dataClass = Object.hasOwn(DLP_ENTITY_CLASSES, type) ? (DLP_ENTITY_CLASSES[type] ?? UNKNOWN_DLP_ENTITY_CLASS) : UNKNOWN_DLP_ENTITY_CLASS;
    raised = raised === null ? dataClass : maxDataClass(raised, dataClass);
  }
  return raised;
}
