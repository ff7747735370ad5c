import { Buffer } from "node:buffer";

interface Entry {
  readonly keyword: string;
  readonly list: number;
}

/** Where a keyword can stand relative to a pair of characters read at an even position `at`. */
interface PairEntries {
  /** Keywords whose first two characters are the pair: they start at `at`. */
  readonly here: Entry[];
  /** Keywords whose second and third characters are the pair (or, two long, whose second is its first): they start at `at - 1`. */
  readonly before: Entry[];
}

/** Bit sets over the 128 ASCII codes, four 32-bit words per entry list. */
function addBit(masks: number[], index: number, code: number): void {
  const word = index * 4 + (code >> 5);
  masks[word] = ((masks[word] ?? 0) | (1 << (code & 31))) >>> 0;
}

/**
 * Finds where the keywords of several lists stand, in ONE pass over the text that reads it two
 * characters at a time: a table look-up of the pair at every EVEN position finds the keywords that
 * start there (their first two characters) and those that start one before (their second and third,
 * so every odd start is seen too), a bit of the character after (or before) the pair rules most pairs
 * out, then `startsWith`. Half the look-ups of one per position: this pass was the scan's hottest
 * function on text dense with values. Detectors that are found by literal keywords (vendor prefixes,
 * password labels) share this pass instead of each scanning the whole text. Keywords are case-sensitive
 * and start with two ASCII characters.
 */
export class KeywordIndex {
  /** Entry lists by the pair (7 bits each; a unit past ASCII counts as its low 7 bits: a look-up only filters), or -1. */
  readonly #slot = new Int16Array(128 * 128).fill(-1);
  /** Per entry list, which ASCII characters after the pair a `here` keyword has next; all bits when one is two long or its third is not ASCII. */
  readonly #after: Uint32Array;
  /** Per entry list, which ASCII characters before the pair the `before` keywords start with. */
  readonly #previous: Uint32Array;
  readonly #entries: PairEntries[] = [];
  readonly #lists: number;

  constructor(lists: readonly (readonly string[])[]) {
    this.#lists = lists.length;
    const after: number[] = [];
    const previous: number[] = [];
    const entriesOf = (first: number, second: number): number => {
      const key = ((first & 127) << 7) | (second & 127);
      if (this.#slot[key] === -1) {
        this.#slot[key] = this.#entries.length;
        this.#entries.push({ here: [], before: [] });
        after.push(0, 0, 0, 0);
        previous.push(0, 0, 0, 0);
      }
      return this.#slot[key] ?? 0;
    };
    lists.forEach((keywords, list) => {
      for (const keyword of keywords) {
        const first = keyword.charCodeAt(0);
        const second = keyword.charCodeAt(1);
        if (keyword.length < 2 || first > 127 || second > 127) throw new Error(`keyword "${keyword}" must start with two ASCII characters`);
        const entry = { keyword, list };
        const here = entriesOf(first, second);
        this.#entries[here]?.here.push(entry);
        const third = keyword.charCodeAt(2);
        if (keyword.length === 2 || third > 127) after.fill(0xffffffff, here * 4, here * 4 + 4);
        else addBit(after, here, third);
        // Starting at an odd position: the pair at the even one after holds the second character and the third,
        // or, for a two-character keyword, its second character and whatever follows (any unit).
        const pairs = keyword.length === 2 ? Array.from({ length: 128 }, (_, next) => next) : [third];
        for (const next of pairs) {
          const before = entriesOf(second, next);
          this.#entries[before]?.before.push(entry);
          addBit(previous, before, first);
        }
      }
    });
    this.#after = Uint32Array.from(after);
    this.#previous = Uint32Array.from(previous);
  }

  /** Start positions of the keywords of each list, ascending, each position once per list. */
  find(text: string): number[][] {
    const found: number[][] = Array.from({ length: this.#lists }, () => []);
    const codes = latin1Codes(text);
    const length = text.length;
    const slot = this.#slot;
    const afterMask = this.#after;
    const previousMask = this.#previous;
    for (let at = 0; at < length; at += 2) {
      // Past the end reads as 0: no keyword has it, and a two-character keyword's pairs include it.
      const second = at + 1 < length ? (codes[at + 1] ?? 0) : 0;
      const index = slot[(((codes[at] ?? 0) & 127) << 7) | (second & 127)] ?? -1;
      if (index < 0) continue;
      const entries = this.#entries[index];
      if (entries === undefined) continue;
      // Starts at at - 1 first, so each list's positions stay ascending.
      const before = at > 0 ? (codes[at - 1] ?? 0) : 128;
      if (before < 128 && ((previousMask[index * 4 + (before >> 5)] ?? 0) & (1 << (before & 31))) !== 0) add(found, entries.before, text, at - 1);
      const next = at + 2 < length ? (codes[at + 2] ?? 0) : 0;
      if (next >= 128 || ((afterMask[index * 4 + (next >> 5)] ?? 0) & (1 << (next & 31))) !== 0) add(found, entries.here, text, at);
    }
    return found;
  }
}

/** Records `at` for each entry whose keyword stands there (once per list). */
function add(found: number[][], entries: readonly Entry[], text: string, at: number): void {
  for (const entry of entries) {
    if (!text.startsWith(entry.keyword, at)) continue;
    const positions = found[entry.list] ?? [];
    if (positions[positions.length - 1] !== at) positions.push(at);
  }
}

/** Reused across calls; grown as needed, but a text past this size gets a copy of its own (so one huge text is not kept alive). */
const KEEP_AT_MOST = 1 << 20;
let scratch = Buffer.allocUnsafe(4096);

/**
 * The text's code units as bytes (each unit's low byte), read far faster than `charCodeAt` in a loop
 * over every character (82 against 119 µs for 64 KB). The scan view is Latin-1 already; in any other
 * text a unit above U+00FF becomes some byte, which can only let a position through the filter that
 * `startsWith` on the text itself then rejects: a keyword starts with two ASCII characters, whose bytes
 * are themselves. Short texts are copied in JavaScript (a native write costs more than a streamed step).
 */
function latin1Codes(text: string): Uint8Array {
  if (text.length > KEEP_AT_MOST) return Buffer.from(text, "latin1");
  if (text.length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(text.length, scratch.length * 2));
  if (text.length < 64) for (let i = 0; i < text.length; i += 1) scratch[i] = text.charCodeAt(i);
  else scratch.write(text, 0, "latin1");
  return scratch;
}
