/**
 * RFC 8785 (JCS) canonical JSON, as the audit chain hashes it: object members sorted by their names'
 * UTF-16 code units (the default `Array.prototype.sort` order), strings and numbers as ECMAScript's
 * `JSON.stringify` writes them (which is what RFC 8785 §3.2.2 prescribes), no whitespace.
 *
 * Same output as the `canonicalize` package for every JSON value (a property test compares them and
 * the RFC's vectors run through this one), written for the append's hot path: one pass, plain string
 * concatenation instead of a `reduce` and a template string per member, no intermediate arrays but the
 * sorted keys. NaN and the infinities are refused, as are values JSON cannot hold (functions, symbols,
 * bigints) anywhere in the tree; `undefined` members are left out and `undefined` array items become
 * `null`, as with `JSON.stringify`; a `toJSON` method is honoured (dates).
 */
export function canonicalJson(value: unknown): string {
  return serialise(value);
}

/**
 * What JSON.stringify may escape in a string: quote, backslash, controls (\p{Cc}, a superset of the
 * C0 controls it escapes) and lone surrogates (\p{Cs} in a /u pattern matches only unpaired ones).
 */
const NEEDS_ESCAPING = /["\\\p{Cc}\p{Cs}]/u;

/** A string as JSON.stringify writes it; most audit strings need no escaping, and quoting them is cheaper. */
function serialiseString(value: string): string {
  return NEEDS_ESCAPING.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** Member names seen before, quoted: events repeat a few dozen names, each tested and quoted once. */
const quotedNames = new Map<string, string>();
const MAX_QUOTED_NAMES = 4096;

function quotedName(name: string): string {
  let quoted = quotedNames.get(name);
  if (quoted === undefined) {
    quoted = serialiseString(name);
    if (quotedNames.size < MAX_QUOTED_NAMES) quotedNames.set(name, quoted);
  }
  return quoted;
}

function serialise(value: unknown): string {
  switch (typeof value) {
    case "string":
      return serialiseString(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${String(value)} cannot be canonicalised: RFC 8785 allows finite numbers only`);
      // ECMAScript's Number-to-String (RFC 8785 §3.2.2.3); -0 is written "0".
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      return serialiseObject(value);
    default:
      throw new TypeError(`A ${typeof value} cannot be canonicalised`);
  }
}

function serialiseObject(value: object): string {
  const toJson: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJson === "function") return serialise((toJson as () => unknown).call(value));
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (i > 0) text += ",";
      text += item === undefined ? "null" : serialise(item);
    }
    return text + "]";
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) text += ",";
    first = false;
    text += quotedName(key) + ":" + serialise(member);
  }
  return text + "}";
}
