import { Buffer } from "node:buffer";

/**
 * The view detectors scan: NFKC per code point (full-width and other compatibility digits become
 * ASCII), remaining decimal digits of any script folded to ASCII, dashes to "-", spaces to " ",
 * and format characters (zero-width, bidi controls, soft hyphen, variation selectors) and combining
 * marks removed.
 * Per code point, so every unit of the view maps back to the code point it came from. Characters above
 * U+00FF that no detector reads (other scripts, curly quotes, emoji) become one Latin-1 stand-in per
 * code point (a letter for letters, marks and numbers, "·" for the rest), so the view is a one-byte
 * string: V8's regular expressions and indexOf run several times faster on those. Only code points
 * whose replacement has a different length are recorded in the offset map.
 */
export interface NormalizedText {
  readonly text: string;
  /** Null when the view equals the original. */
  readonly map: OffsetMap | null;
}

/** One entry per changed code point, in order: where it is in the view and in the original. */
export interface OffsetMap {
  readonly viewStart: Int32Array;
  readonly viewLength: Int32Array;
  readonly originalStart: Int32Array;
  readonly originalLength: Int32Array;
}

// Latin-1 letters (U+00C0-U+00FF, with × and ÷) are their own replacement: only other non-ASCII code units need a look.
const NON_ASCII = /[\u0080-\u00BF\u0100-\uFFFF]/g;
const NOT_ASCII = /[\u0080-\uFFFF]/;
/** How much of the text is searched for a non-ASCII character before asking for its UTF-8 length. */
const HEAD_CHARS = 1024;
const FORMAT = /^\p{Cf}$/u;
/** Nonspacing and enclosing marks: stacked on a digit or a letter they hide it from every detector (`4\u0301`). */
const COMBINING = /^[\p{Mn}\p{Me}]$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
const DASH = /^[\p{Pd}\u2212]$/u;
const SPACE = /^\p{Zs}$/u;

/** Replacement per non-ASCII code point; bounded so a hostile text cannot grow it without limit. */
const cache = new Map<number, string>();
const CACHE_LIMIT = 8192;

function digitValue(cp: number): number {
  let zero = cp;
  let steps = 0;
  while (steps < 9 && DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) {
    zero -= 1;
    steps += 1;
  }
  return (cp - zero) % 10;
}

/**
 * Format characters, combining marks, and the invisible fillers, joiners and variation selectors used
 * to split values. A mark left after NFKC (one with no precomposed form, as on a digit) is dropped:
 * no detector reads marks, and a mark between two characters would otherwise split a value.
 */
function isInvisible(char: string): boolean {
  const cp = char.codePointAt(0) ?? 0;
  return (
    FORMAT.test(char) ||
    COMBINING.test(char) ||
    cp === 0x034f ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    (cp >= 0x180b && cp <= 0x180f) ||
    cp === 0x3164 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xffa0 ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}

function foldUnit(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) return ch;
  if (isInvisible(ch)) return "";
  if (DECIMAL_DIGIT.test(ch)) return String(digitValue(cp));
  if (DASH.test(ch)) return "-";
  if (SPACE.test(ch)) return " ";
  return ch;
}

const LETTER_LIKE = /^[\p{L}\p{M}\p{N}]$/u;
const LETTER_STAND_IN = "\u00AA";
const OTHER_STAND_IN = "\u00B7";

function oneByte(folded: string): string {
  if (folded.length === 0 || folded.charCodeAt(0) <= 0xff) return folded;
  return LETTER_LIKE.test(folded) ? LETTER_STAND_IN : OTHER_STAND_IN;
}

function replacementFor(cp: number): string {
  const cached = cache.get(cp);
  if (cached !== undefined) return cached;
  const char = String.fromCodePoint(cp);
  let out = "";
  if (!isInvisible(char)) {
    for (const unit of char.normalize("NFKC")) out += oneByte(foldUnit(unit));
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(cp, out);
  return out;
}

/**
 * The Latin-1 copy of the text and the view's bytes live in buffers reused from one call to the next (the
 * view leaves them as a string): two fresh 64 KB buffers per dense document were an eighth of normalising
 * it, and memory outside the heap that hastens garbage collection. A text past REUSE_UP_TO units gets
 * buffers of its own, so one huge text does not stay allocated.
 */
const REUSE_UP_TO = 1 << 20;
let sourceScratch = Buffer.allocUnsafe(0);
let viewScratch = Buffer.allocUnsafe(0);

function latin1Copy(original: string): Buffer {
  if (original.length > REUSE_UP_TO) return Buffer.from(original, "latin1");
  if (sourceScratch.length < original.length) sourceScratch = Buffer.allocUnsafe(Math.max(original.length, sourceScratch.length * 2));
  sourceScratch.write(original, 0, "latin1");
  return sourceScratch;
}

function viewBuffer(size: number): Buffer {
  if (size > REUSE_UP_TO) return Buffer.allocUnsafe(size);
  if (viewScratch.length < size) viewScratch = Buffer.allocUnsafe(Math.max(size, viewScratch.length * 2));
  return viewScratch;
}

export function normalizeForScan(original: string): NormalizedText {
  // Pure ASCII (UTF-8 length equals UTF-16 length): one native pass, no regular expression. That pass costs
  // 44 us on a 64 KB two-byte string (against 0.5 on a one-byte one), so it is skipped when the text's
  // first characters already hold a non-ASCII one (the text cannot be pure ASCII then).
  const head = original.length > HEAD_CHARS ? original.slice(0, HEAD_CHARS) : original;
  if (!NOT_ASCII.test(head) && Buffer.byteLength(original, "utf8") === original.length) return { text: original, map: null };
  // Code units the view changes, found by one native regex pass; the view is then written into a Latin-1
  // buffer (joining slices of a two-byte string instead cost 10 µs per KB and left the view two-byte).
  const editAt: number[] = [];
  const editWidth: number[] = [];
  const editWith: string[] = [];
  let grows = false;
  NON_ASCII.lastIndex = 0;
  for (let m = NON_ASCII.exec(original); m !== null; m = NON_ASCII.exec(original)) {
    const i = m.index;
    const cp = original.codePointAt(i) ?? 0;
    const width = cp > 0xffff ? 2 : 1;
    const replacement = replacementFor(cp);
    if (width !== 1 || replacement.length !== 1 || replacement.charCodeAt(0) !== cp) {
      editAt.push(i);
      editWidth.push(width);
      editWith.push(replacement);
      if (replacement.length !== width) grows = true;
    }
    NON_ASCII.lastIndex = i + width;
  }
  if (editAt.length === 0) return { text: original, map: null };
  // Outside the edits every unit is below U+0100, so its Latin-1 byte is the unit itself.
  const source = latin1Copy(original);
  if (!grows) {
    for (let k = 0; k < editAt.length; k += 1) source[editAt[k] ?? 0] = (editWith[k] ?? "").charCodeAt(0);
    return { text: source.toString("latin1", 0, original.length), map: null };
  }
  let viewSize = original.length;
  for (let k = 0; k < editAt.length; k += 1) viewSize += (editWith[k] ?? "").length - (editWidth[k] ?? 0);
  const view = viewBuffer(viewSize);
  const viewStart: number[] = [];
  const viewLength: number[] = [];
  const originalStart: number[] = [];
  const originalLength: number[] = [];
  let copiedUntil = 0;
  let written = 0;
  for (let k = 0; k < editAt.length; k += 1) {
    const i = editAt[k] ?? 0;
    const width = editWidth[k] ?? 1;
    const replacement = editWith[k] ?? "";
    written += source.copy(view, written, copiedUntil, i);
    if (replacement.length !== width) {
      viewStart.push(written);
      viewLength.push(replacement.length);
      originalStart.push(i);
      originalLength.push(width);
    }
    for (let r = 0; r < replacement.length; r += 1) view[written + r] = replacement.charCodeAt(r);
    written += replacement.length;
    copiedUntil = i + width;
  }
  source.copy(view, written, copiedUntil, original.length);
  return {
    text: view.toString("latin1", 0, viewSize),
    map: {
      viewStart: Int32Array.from(viewStart),
      viewLength: Int32Array.from(viewLength),
      originalStart: Int32Array.from(originalStart),
      originalLength: Int32Array.from(originalLength),
    },
  };
}

/** Index of the last entry whose key is <= value, or -1. */
function lastAtOrBefore(keys: Int32Array, value: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Original offset where the view unit at `position` comes from (a position at the end maps to the original's end). */
export function toOriginalOffset(normalized: NormalizedText, position: number): number {
  const map = normalized.map;
  if (map === null) return position;
  const k = lastAtOrBefore(map.viewStart, position);
  if (k < 0) return position;
  const vs = map.viewStart[k] ?? 0;
  const vl = map.viewLength[k] ?? 0;
  const os = map.originalStart[k] ?? 0;
  if (position < vs + vl) return os;
  return os + (map.originalLength[k] ?? 0) + (position - vs - vl);
}

/** Maps a [start, end) range of the view back to the original text. */
export function toOriginalRange(normalized: NormalizedText, start: number, end: number): [number, number] {
  const map = normalized.map;
  if (map === null) return [start, end];
  const from = toOriginalOffset(normalized, start);
  const last = end - 1;
  const k = lastAtOrBefore(map.viewStart, last);
  let to: number;
  const vs = map.viewStart[k] ?? 0;
  if (k >= 0 && last < vs + (map.viewLength[k] ?? 0)) to = (map.originalStart[k] ?? 0) + (map.originalLength[k] ?? 0);
  else to = toOriginalOffset(normalized, last) + 1;
  return [from, Math.max(from, to)];
}

/** View offset of an original offset (the first view unit at or after it). */
export function toViewOffset(normalized: NormalizedText, originalOffset: number): number {
  const map = normalized.map;
  if (map === null) return originalOffset;
  const k = lastAtOrBefore(map.originalStart, originalOffset);
  if (k < 0) return originalOffset;
  const os = map.originalStart[k] ?? 0;
  const ol = map.originalLength[k] ?? 0;
  const vs = map.viewStart[k] ?? 0;
  if (originalOffset < os + ol) return vs;
  return vs + (map.viewLength[k] ?? 0) + (originalOffset - os - ol);
}
