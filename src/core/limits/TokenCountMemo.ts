import { createHash } from "node:crypto";

/**
 * Remembers how many tokens a text has, so the same text is not run through the BPE again. An app
 * sends the same system prompt (often the longest message) with every request; the BPE's cost grows
 * with the text, a SHA-256 costs about a microsecond per KB. The gateway bench's chat: 20.6 µs counted,
 * 8.5 µs remembered (`limits.promptEstimate*` in `npm run bench`).
 *
 * Texts are kept only as digests: a prompt must not outlive its request in memory. Bounded: the
 * least recently used entry goes first. Short texts are counted directly (hashing them would cost
 * about what counting does).
 */
export class TokenCountMemo {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly maxEntries = 4_096,
    private readonly minLength = 64,
  ) {}

  countOf(encoding: string, text: string, count: (text: string) => number): number {
    if (text.length < this.minLength || this.maxEntries === 0) return count(text);
    const key = `${encoding}:${createHash("sha256").update(text).digest("base64")}`;
    const known = this.counts.get(key);
    if (known !== undefined) {
      // Most recently used last, so the oldest entry is the first the map yields.
      this.counts.delete(key);
      this.counts.set(key, known);
      return known;
    }
    const counted = count(text);
    this.counts.set(key, counted);
    if (this.counts.size > this.maxEntries) {
      const oldest = this.counts.keys().next();
      if (oldest.done !== true) this.counts.delete(oldest.value);
    }
    return counted;
  }

  get size(): number {
    return this.counts.size;
  }
}
