interface Entry {
  readonly keyword: string;
  readonly list: number;
}

/**
 * Finds where the keywords of several lists stand, in ONE pass over the text: a table look-up of each
 * position's first two characters, a bit for the third, then `startsWith`. Detectors that are found by
 * literal keywords (vendor prefixes, password labels) share this pass instead of each scanning the
 * whole text (a JavaScript loop or a regular expression with dozens of alternatives costs 2-4 ns a
 * character; this pass costs about 1.5). Keywords are case-sensitive and start with two ASCII characters.
 */
export class KeywordIndex {
  /** Entry list by the first two characters (7 bits each), or -1. */
  readonly #slot = new Int16Array(128 * 128).fill(-1);
  /** Per entry list, which third characters (ASCII) any of its keywords has; all bits when one is two long. */
  readonly #third: Uint32Array;
  readonly #entries: Entry[][] = [];
  readonly #lists: number;

  constructor(lists: readonly (readonly string[])[]) {
    this.#lists = lists.length;
    const thirds: number[][] = [];
    lists.forEach((keywords, list) => {
      for (const keyword of keywords) {
        const first = keyword.charCodeAt(0);
        const second = keyword.charCodeAt(1);
        if (keyword.length < 2 || first > 127 || second > 127) throw new Error(`keyword "${keyword}" must start with two ASCII characters`);
        const key = (first << 7) | second;
        if (this.#slot[key] === -1) {
          this.#slot[key] = this.#entries.length;
          this.#entries.push([]);
          thirds.push([0, 0, 0, 0]);
        }
        const index = this.#slot[key] ?? 0;
        const mask = thirds[index] ?? [];
        const third = keyword.charCodeAt(2);
        if (keyword.length === 2 || third > 127) mask.fill(0xffffffff);
        else mask[third >> 5] = ((mask[third >> 5] ?? 0) | (1 << (third & 31))) >>> 0;
        this.#entries[index]?.push({ keyword, list });
      }
    });
    this.#third = Uint32Array.from(thirds.flat());
  }

  /** Start positions of the keywords of each list, ascending, each position once per list. */
  find(text: string): number[][] {
    const found: number[][] = Array.from({ length: this.#lists }, () => []);
    const slot = this.#slot;
    const third = this.#third;
    const last = text.length - 1;
    let previous = text.charCodeAt(0);
    for (let at = 0; at < last; at += 1) {
      const first = previous;
      const second = text.charCodeAt(at + 1);
      previous = second;
      if ((first | second) > 127) continue;
      const index = slot[(first << 7) | second] ?? -1;
      if (index < 0) continue;
      // Past the end NaN | 0 is 0: a two-character keyword's all-ones mask still lets it through.
      const next = text.charCodeAt(at + 2) | 0;
      if (next < 128 && ((third[index * 4 + (next >> 5)] ?? 0) & (1 << (next & 31))) === 0) continue;
      for (const entry of this.#entries[index] ?? []) {
        if (!text.startsWith(entry.keyword, at)) continue;
        const positions = found[entry.list] ?? [];
        if (positions[positions.length - 1] !== at) positions.push(at);
      }
    }
    return found;
  }
}
