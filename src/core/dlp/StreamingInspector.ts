import { KeywordIndex } from "./KeywordIndex.js";
import { normalizeForScan, toOriginalOffset, toViewOffset } from "./normalizeForScan.js";
import { Redactor } from "./Redactor.js";
import { scanNormalized } from "./scan.js";
import { SECRET_RULES } from "./secrets/secretRules.js";
import { type EntityType, type Finding, type ScanOptions } from "./types.js";

export interface StreamingInspectorOptions extends ScanOptions {
  readonly action: "allow" | "redact" | "block";
  /** Most characters held back waiting to see whether a value continues. Default 4096 (a PEM RSA-4096 key fits). */
  readonly maxHoldBackChars?: number;
  /**
   * Scan only once at least this many characters have arrived since the last scan (default 0: at every
   * push; until the first characters are released every push scans, so an answer's start is not delayed). A push that does not scan releases nothing, which is the same as receiving it joined to the
   * next one, so the output is unchanged. Each scan re-reads the held text and up to 256 characters of
   * context: with one-token deltas (about 4 characters), 16 cuts the CPU of a streamed answer two to three
   * times, for up to 16 more characters held back.
   */
  readonly minScanChars?: number;
}

export interface StreamVerdict {
  readonly release: string;
  readonly blocked: boolean;
}

/** Released text kept (not re-released) so context words and look-behinds see what a whole-text scan sees. */
const CONTEXT_CHARS = 256;
/** Spaced values (cards, IBANs, phones) are runs of short groups; a run longer than this cannot be one. */
const MAX_GROUP_CHAIN_CHARS = 64;
const GROUP = /^[\p{L}\p{N}+()./\-#:]{1,8}$/u;
// A line break counts as a blank here: a card, IBAN or token may be wrapped onto the next line.
const SPACE_OR_TAB = /[ \t\r\n]/;
const BLANK = /[ \t\r\n]/;
// A word the scanner may join with the next line: it ends in a token character (as the rejoining of
// wrapped tokens requires) and has a digit (a card, IBAN or token piece) or is a long run of token characters.
const WRAPPABLE = /^(?=[^]*[A-Za-z0-9+/=_-]$)(?:[^]*\d|[A-Za-z0-9+/=_-]{16,}$)/;
const ENDS_IN_TOKEN_CHARACTER = /[A-Za-z0-9+/=_-]$/;
/** A secret rule's keyword in the word: a short token start without digits ("sk-ant-", "xoxb-") that the scanner joins with the next line. */
const SECRET_KEYWORDS = new KeywordIndex([SECRET_RULES.flatMap((rule) => rule.keywords)]);
const LINE_BREAK = /[\r\n]/;
/** Blanks a wrapped value may have at its line break (the IBAN detector allows two of " ", "\r", "\n"). */
const WRAP_GAP = /^[ \r\n]*[\r\n][ \r\n]*$/;
/** A wrapped card, IBAN or token goes on with one of these. */
const WRAP_CONTINUATION_START = /[A-Za-z0-9+/=_-]/;
/** An IBAN's start: country, check digits, then groups (as the detector allows them), up to the line's end. */
const IBAN_START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \r\n]{0,2}[A-Za-z0-9]){0,32}$/;
/** 34 characters with up to two blanks between each: the longest IBAN the detector can join. */
const MAX_WRAPPED_IBAN_CHARS = 34 + 33 * 2;
const DIGIT = /\d/;
const LETTERS = /^\p{L}{1,4}$/u;
const TRAILING_GROUP = /[+(]?[\p{L}\p{N}]{1,8}$/u;
const WHITESPACE = /\s/;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;
const TOKEN_CHAR = /[A-Za-z0-9+/=_\-.~%]/;
const PEM_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;

/**
 * Inspects a completion as it streams. Releases at once everything that can no longer be part of a
 * finding and holds back only the trailing characters that still could (the last word, a run of short
 * groups such as "4111 1111", an open PEM block), at most `maxHoldBackChars`. Streamed and whole-text
 * inspection give the same output.
 */
export class StreamingInspector {
  readonly #options: StreamingInspectorOptions;
  readonly #redactor: Redactor;
  readonly #maxHoldBack: number;
  readonly #minScanChars: number;
  /** Characters pushed since the last scan. */
  #unscanned = 0;
  /** Until the first characters are released every push scans, so an answer's start is not delayed. */
  #releasedAny = false;
  readonly #counts: Partial<Record<EntityType, number>> = {};
  #pending = "";
  #context = "";
  #blocked = false;
  /** After a forced release inside a value, the rest of that value is dropped: "pem" until its END line, "token" until a non-token character. */
  #swallow: "pem" | "token" | null = null;

  constructor(options: StreamingInspectorOptions, redactor?: Redactor) {
    this.#options = options;
    this.#redactor = redactor ?? new Redactor();
    this.#maxHoldBack = Math.max(64, options.maxHoldBackChars ?? 4096);
    this.#minScanChars = Math.max(0, options.minScanChars ?? 0);
  }

  /** Findings by type so far (released or blocking). */
  get counts(): Partial<Record<EntityType, number>> {
    return { ...this.#counts };
  }

  /** Characters pushed and not yet released (nor dropped): the hold-back right now. */
  get heldBackChars(): number {
    return this.#pending.length;
  }

  push(chunk: string): StreamVerdict {
    if (this.#blocked) return { release: "", blocked: true };
    const growsLastWord = this.#swallow === null && this.#pending !== "" && !WHITESPACE.test(this.#pending.charAt(this.#pending.length - 1)) && !WHITESPACE.test(chunk);
    this.#pending += chunk;
    this.#unscanned += chunk.length;
    // A chunk without whitespace only lengthens the held last word, which stays held, so a scan now would
    // release little (at most a run of groups before the word). Waiting is the same as receiving this chunk
    // joined to the next one (a coarser chunking: the same output), and the hold-back stays bounded.
    // Likewise while fewer than `minScanChars` characters have come since the last scan.
    const waits = growsLastWord || (this.#swallow === null && this.#releasedAny && this.#unscanned < this.#minScanChars);
    if (waits && this.#pending.length <= this.#maxHoldBack / 2) return { release: "", blocked: false };
    return this.#step(false);
  }

  end(): StreamVerdict {
    if (this.#blocked) return { release: "", blocked: true };
    return this.#step(true);
  }

  #step(final: boolean): StreamVerdict {
    this.#unscanned = 0;
    let released = "";
    if (this.#swallow !== null) {
      this.#dropSwallowed(final);
      if (this.#swallow !== null) return { release: "", blocked: false };
    }
    const prefix = this.#context;
    const whole = prefix + this.#pending;
    const normalized = normalizeForScan(whole);
    const fromIndex = toViewOffset(normalized, prefix.length);
    const findings = scanNormalized(normalized, { ...this.#options, fromIndex });
    let cut = whole.length;
    if (!final) {
      const holdNormalized = this.#holdStart(normalized.text);
      cut = Math.max(prefix.length, toOriginalOffset(normalized, holdNormalized));
      for (const f of findings) if (f.start < cut && f.end > cut) cut = f.start;
      if (whole.length - cut > this.#maxHoldBack) cut = whole.length - this.#maxHoldBack;
    }
    let forcedThrough: Finding | null = null;
    const done: Finding[] = [];
    for (const f of findings) {
      if (f.end <= cut) done.push(f);
      else if (f.start < cut) {
        // Forced release inside a value that outgrew the hold-back: redact what we have, drop the rest as it comes.
        done.push({ ...f, end: whole.length });
        forcedThrough = f;
      }
    }
    if (forcedThrough !== null) cut = whole.length;
    for (const f of done) this.#counts[f.type] = (this.#counts[f.type] ?? 0) + 1;
    if (done.length > 0 && this.#options.action === "block") {
      this.#blocked = true;
      this.#pending = "";
      return { release: "", blocked: true };
    }
    const releasedOriginal = whole.slice(prefix.length, cut);
    if (this.#options.action === "redact") {
      const shifted = done.map((f) => ({ ...f, start: f.start - prefix.length, end: f.end - prefix.length }));
      released = this.#redactor.redact(releasedOriginal, shifted).text;
    } else released = releasedOriginal;
    if (forcedThrough !== null) this.#swallow = whole.startsWith("-----BEGIN", forcedThrough.start) ? "pem" : "token";
    this.#pending = whole.slice(cut);
    this.#context = this.#trimContext(whole.slice(0, cut));
    if (released !== "") this.#releasedAny = true;
    return { release: released, blocked: false };
  }

  /** Keeps the last released characters, starting at a word boundary so a cut word cannot pose as a context word. */
  #trimContext(released: string): string {
    if (released.length <= CONTEXT_CHARS) return released;
    const tail = released.slice(released.length - CONTEXT_CHARS);
    const space = tail.search(WHITESPACE);
    return space === -1 ? "" : tail.slice(space + 1);
  }

  /** Where the trailing part that could still grow into a finding starts, in normalised offsets. */
  #holdStart(text: string): number {
    // An open PEM block (no END line yet) is held from its header, also when the text ends in a line break.
    const begin = text.lastIndexOf("-----BEGIN");
    const openPem = begin !== -1 && !PEM_END.test(text.slice(begin)) ? begin : text.length;
    return Math.min(this.#wrapAwareHoldStart(text), openPem);
  }

  /**
   * The trailing run of groups, plus the lines before it it may continue: a card, IBAN or token wrapped
   * over a line break ("NL91 ABNA\n0417 1643 00") is held whole, so its first line is not released before
   * the continuation shows whether it is one. Never further back than `maxHoldBack` characters.
   */
  #wrapAwareHoldStart(text: string): number {
    let j = text.length;
    while (j > 0 && BLANK.test(text.charAt(j - 1))) j -= 1;
    // Text that ends a line is held only if the next line may continue its last value.
    if (LINE_BREAK.test(text.slice(j)) && !this.#mayContinueOnNextLine(text, j, text.length)) return text.length;
    let hold = this.#groupChainStart(text, j);
    while (hold > 0 && text.length - hold <= this.#maxHoldBack && WRAP_CONTINUATION_START.test(text.charAt(hold))) {
      let lineEnd = hold;
      while (lineEnd > 0 && BLANK.test(text.charAt(lineEnd - 1))) lineEnd -= 1;
      if (lineEnd === 0 || !this.#mayContinueOnNextLine(text, lineEnd, hold)) break;
      hold = this.#groupChainStart(text, lineEnd);
    }
    return hold;
  }

  /**
   * May the value ending at `lineEnd` go on after the blanks up to `next`? The scanner joins a wrapped value
   * over one line break with at most two blanks in all (an IBAN's widest rule), when its first line ends in
   * an IBAN's first groups, or in a card or token piece (a digit, a long run of token characters, or a secret
 * rule's keyword such as "sk-ant-").
   */
  #mayContinueOnNextLine(text: string, lineEnd: number, next: number): boolean {
    if (next - lineEnd > 2 || !WRAP_GAP.test(text.slice(lineEnd, next))) return false;
    if (IBAN_START.test(text.slice(Math.max(0, lineEnd - MAX_WRAPPED_IBAN_CHARS), lineEnd))) return true;
    let wordStart = lineEnd;
    while (wordStart > 0 && !WHITESPACE.test(text.charAt(wordStart - 1))) wordStart -= 1;
    const word = text.slice(wordStart, lineEnd);
    if (!WRAPPABLE.test(word) && !(ENDS_IN_TOKEN_CHARACTER.test(word) && (SECRET_KEYWORDS.find(word)[0]?.length ?? 0) > 0)) return false;
    // A card or token goes on with a run of token characters that has a digit (the scanner's rule); a
    // finished run without one ("Please ...") is the next sentence. The next line may not have come yet.
    let runEnd = next;
    while (runEnd < text.length && WRAP_CONTINUATION_START.test(text.charAt(runEnd))) {
      if (DIGIT.test(text.charAt(runEnd))) return true;
      runEnd += 1;
    }
    return runEnd === text.length;
  }

  /**
   * Start of the run of short groups ending at `j` (just after its last non-blank character), walking back
   * over groups joined by one to three spaces ("DE89 3704 0044", "+44 20 7946"): a group with a digit, or a
   * short run of letters just before one ("GB82 WEST 1234"). A longer word before the chain can still end
   * in the value's first group ("card=4917 6100"): hold from where that group starts.
   */
  #groupChainStart(text: string, j: number): number {
    let k = j;
    while (k > 0 && !WHITESPACE.test(text.charAt(k - 1))) k -= 1;
    let hold = k;
    let wordEnd = k;
    let nextHasDigit = DIGIT.test(text.slice(k, j));
    while (wordEnd > 0) {
      let sep = wordEnd;
      while (sep > 0 && SPACE_OR_TAB.test(text.charAt(sep - 1)) && wordEnd - sep < 3) sep -= 1;
      if (sep === wordEnd || (sep > 0 && WHITESPACE.test(text.charAt(sep - 1)))) break;
      let wordStart = sep;
      while (wordStart > 0 && !WHITESPACE.test(text.charAt(wordStart - 1))) wordStart -= 1;
      const word = text.slice(wordStart, sep);
      const hasDigit = DIGIT.test(word);
      const joins = GROUP.test(word) && (hasDigit || (nextHasDigit && LETTERS.test(word)));
      if (!joins || j - wordStart > MAX_GROUP_CHAIN_CHARS) {
        const tail = TRAILING_GROUP.exec(word);
        if (tail !== null && nextHasDigit) hold = sep - tail[0].length;
        break;
      }
      hold = wordStart;
      wordEnd = wordStart;
      nextHasDigit = hasDigit;
    }
    return hold;
  }

  #dropSwallowed(final: boolean): void {
    if (this.#swallow === "pem") {
      const match = PEM_END.exec(this.#pending);
      if (match !== null) {
        this.#pending = this.#pending.slice(match.index + match[0].length);
        this.#swallow = null;
        return;
      }
      // No END line: as in a whole-text scan, the block ends after the last base64 line.
      let lineStart = 0;
      let contentEnd = 0;
      while (lineStart <= this.#pending.length) {
        let lineEnd = this.#pending.indexOf("\n", lineStart);
        if (lineEnd === -1) {
          if (!final) break;
          lineEnd = this.#pending.length;
        }
        const line = this.#pending.slice(lineStart, lineEnd);
        const trimmed = line.trim();
        if (trimmed !== "" && !BASE64_LINE.test(trimmed) && !/^[A-Za-z-]+: /.test(trimmed)) {
          this.#pending = this.#pending.slice(contentEnd);
          this.#swallow = null;
          return;
        }
        if (trimmed !== "") contentEnd = lineStart + line.trimEnd().length;
        lineStart = lineEnd + 1;
      }
      this.#pending = this.#pending.slice(contentEnd);
      if (final) this.#swallow = null;
      return;
    }
    let i = 0;
    while (i < this.#pending.length && TOKEN_CHAR.test(this.#pending.charAt(i))) i += 1;
    const stopped = i < this.#pending.length;
    this.#pending = this.#pending.slice(i);
    if (stopped || final) this.#swallow = null;
  }
}
