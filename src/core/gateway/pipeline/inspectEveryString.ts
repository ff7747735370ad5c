import { isRecord } from "../../isRecord.js";

/**
 * Fields that name or number things, never model text: left as they are (DLP on an id could only
 * mistake its randomness for a secret and break the client's bookkeeping). `encrypted_content` is
 * opaque to the caller; `partial_image_b64` is an image being drawn (base64: a false finding would
 * only corrupt it).
 */
const STRUCTURAL = new Set(["type", "id", "item_id", "call_id", "response_id", "status", "role", "object", "model", "encrypted_content", "partial_image_b64"]);

/** Bounds the walk: the event is the upstream's JSON, and a hostile nesting must not exhaust the stack. */
const MAX_DEPTH = 32;

/**
 * A copy of a value from the model's answer that Palisade has no specific rule for (a stream event or
 * an output item of a type it does not know, a message field a provider adds), with every string at
 * any depth passed through `inspect` (save the structural fields above): a new field or type that
 * carries model text cannot skip output DLP. Objects and arrays are copied only where a string changed.
 */
export function inspectEveryString<T>(value: T, inspect: (text: string) => string): T {
  return visit(value, inspect, 0) as T;
}

function visit(value: unknown, inspect: (text: string) => string, depth: number): unknown {
  if (typeof value === "string") return value === "" ? value : inspect(value);
  // Deeper than any event the API sends: withheld rather than passed unread.
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item: unknown, index) => {
      const inspected = visit(item, inspect, depth + 1);
      if (inspected !== item) (copy ??= [...(value as unknown[])])[index] = inspected;
    });
    return copy ?? value;
  }
  if (!isRecord(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const [key, child] of Object.entries(value)) {
    if (STRUCTURAL.has(key)) continue;
    const inspected = visit(child, inspect, depth + 1);
    if (inspected !== child) (copy ??= { ...value })[key] = inspected;
  }
  return copy ?? value;
}
