/**
 * RFC 8785 (JCS) canonical JSON, as the audit chain hashes it: object members sorted by their names'
 * UTF-16 code units (the default `Array.prototype.sort` order), strings and numbers as ECMAScript's
 * `JSON.stringify` writes them (which is what RFC 8785 §3.2.2 prescribes), no whitespace.
 *
 * Same output as the `canonicalize` package for every JSON value (a property test compares them and
 * the RFC's vectors run through this one), written for the append's hot path: one pass, the pieces
 * joined once (`PieceWriter`), no intermediate arrays but each object's keys, sorted in place. NaN and the infinities are refused, as are values JSON cannot hold (functions, symbols,
 * bigints) anywhere in the tree; `undefined` members are left out and `undefined` array items become
 * `null`, as with `JSON.stringify`; a `toJSON` method is honoured (dates).
 */
export function canonicalJson(value: unknown): string {
  // A toJSON that canonicalises something itself gets a writer of its own.
  const writer = shared.inUse ? new PieceWriter() : shared;
  writer.inUse = true;
  try {
    writer.count = 0;
    serialise(value, writer);
    return writer.text();
  } finally {
    writer.inUse = false;
  }
}

/**
 * The text's pieces, joined once at the end: concatenating as it goes made a string for every `+`
 * (8 KB of garbage for a 700-character event, issue 22), a join makes the result only. The shared
 * writer's array is reused from call to call, so after the first events it allocates nothing.
 */
class PieceWriter {
  private readonly pieces: string[] = [];
  count = 0;
  inUse = false;

  add(piece: string): void {
    this.pieces[this.count] = piece;
    this.count += 1;
  }

  text(): string {
    // Truncated to this text's pieces (a shorter text after a longer one); the capacity stays.
    this.pieces.length = this.count;
    return this.pieces.join("");
  }
}

const shared = new PieceWriter();

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

function serialise(value: unknown, writer: PieceWriter): void {
  switch (typeof value) {
    case "string":
      // Most audit strings need no escaping: written between quotes as they are, no quoted copy made.
      if (NEEDS_ESCAPING.test(value)) writer.add(JSON.stringify(value));
      else {
        writer.add('"');
        writer.add(value);
        writer.add('"');
      }
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${String(value)} cannot be canonicalised: RFC 8785 allows finite numbers only`);
      // ECMAScript's Number-to-String (RFC 8785 §3.2.2.3); -0 is written "0".
      writer.add(JSON.stringify(value));
      return;
    case "boolean":
      writer.add(value ? "true" : "false");
      return;
    case "object":
      if (value === null) writer.add("null");
      else serialiseObject(value, writer);
      return;
    default:
      throw new TypeError(`A ${typeof value} cannot be canonicalised`);
  }
}

function serialiseObject(value: object, writer: PieceWriter): void {
  const toJson: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJson === "function") {
    serialise((toJson as () => unknown).call(value), writer);
    return;
  }
  if (Array.isArray(value)) {
    writer.add("[");
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (i > 0) writer.add(",");
      if (item === undefined) writer.add("null");
      else serialise(item, writer);
    }
    writer.add("]");
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedInPlace(Object.keys(record));
  writer.add("{");
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) writer.add(",");
    first = false;
    writer.add(quotedName(key));
    writer.add(":");
    serialise(member, writer);
  }
  writer.add("}");
}

/**
 * The default sort's order (UTF-16 code units: `<` on strings). An object's few keys are sorted by
 * insertion in place: `Array.prototype.sort` copies them into a work array first.
 */
function sortedInPlace(keys: string[]): string[] {
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i += 1) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j -= 1;
    }
    keys[j + 1] = key;
  }
  return keys;
}
