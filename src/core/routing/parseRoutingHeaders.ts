import { invalidRequest } from "../errors.js";
import { DATA_CLASSES, type DataClass, RESIDENCIES, type Residency } from "../policy/schema.js";

export const DATA_CLASSIFICATION_HEADER = "x-data-classification";
export const RESIDENCY_HEADER = "x-palisade-residency";

function parseEnumHeader<T extends string>(header: string, allowed: readonly T[], value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  const normalised = value.trim().toLowerCase();
  const match = allowed.find((candidate) => candidate === normalised);
  if (match === undefined) {
    // The value is the caller's own header; it is not echoed anyway, to keep messages free of input.
    throw invalidRequest(`Header ${header} has an unknown value; send one of: ${allowed.join(", ")}, or omit it.`, header);
  }
  return match;
}

/** `x-data-classification`: undefined when absent; 400 `invalid_request` for anything but a known class. */
export function parseDataClassHeader(value: string | undefined): DataClass | undefined {
  return parseEnumHeader(DATA_CLASSIFICATION_HEADER, DATA_CLASSES, value);
}

/** `x-palisade-residency`: undefined when absent; 400 `invalid_request` for anything but a known residency. */
export function parseResidencyHeader(value: string | undefined): Residency | undefined {
  return parseEnumHeader(RESIDENCY_HEADER, RESIDENCIES, value);
}
