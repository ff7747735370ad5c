/**
 * libphonenumber's number patterns as one lazily built automaton per region, read digit by digit from
 * a buffer: the region is valid for a number when its general pattern matches, one of its number-type
 * patterns (fixed line, mobile, ...) matches, and the length is one the region and that type allow —
 * what `isValid()` checks with a regular expression per pattern on a string. Here no string is made
 * (the digits are read where the caller put them) and one table read per digit replaces two to five
 * expression calls.
 *
 * The patterns use digits, `\d`, classes of digits (`[2-57-9]`), groups (`(?:...)`, `(...)`),
 * alternation, `?`, `{n}` and `{n,m}` only, so every one is a finite regular language: compiled to a
 * Thompson NFA with all the region's patterns side by side, whose sets of states become automaton states
 * the first time an input reaches them (subset construction on demand).
 */

/** A parsed pattern. */
type Pattern =
  | { readonly kind: "digits"; readonly mask: number }
  | { readonly kind: "sequence"; readonly items: readonly Pattern[] }
  | { readonly kind: "either"; readonly options: readonly Pattern[] }
  | { readonly kind: "repeat"; readonly item: Pattern; readonly min: number; readonly max: number };

const ANY_DIGIT = 0x3ff;

/** Parses the subset of regular-expression syntax libphonenumber's metadata uses; throws on anything else. */
function parsePattern(source: string): Pattern {
  let at = 0;
  const fail = (): never => {
    throw new Error(`phone pattern: unsupported syntax at ${at} in ${source}`);
  };
  const digitAt = (i: number): number => {
    const code = source.charCodeAt(i);
    return code >= 48 && code <= 57 ? code - 48 : fail();
  };
  const number = (): number => {
    const from = at;
    while (at < source.length && source.charCodeAt(at) >= 48 && source.charCodeAt(at) <= 57) at += 1;
    return at > from ? Number(source.slice(from, at)) : fail();
  };
  const atom = (): Pattern => {
    const char = source.charAt(at);
    if (char === "(") {
      at += source.startsWith("(?:", at) ? 3 : 1;
      const inner = either();
      if (source.charAt(at) !== ")") fail();
      at += 1;
      return inner;
    }
    if (char === "[") {
      at += 1;
      let mask = 0;
      while (at < source.length && source.charAt(at) !== "]") {
        const low = digitAt(at);
        let high = low;
        if (source.charAt(at + 1) === "-") {
          high = digitAt(at + 2);
          at += 2;
        }
        for (let d = low; d <= high; d += 1) mask |= 1 << d;
        at += 1;
      }
      if (source.charAt(at) !== "]") fail();
      at += 1;
      return { kind: "digits", mask };
    }
    if (source.startsWith("\\d", at)) {
      at += 2;
      return { kind: "digits", mask: ANY_DIGIT };
    }
    const digit = digitAt(at);
    at += 1;
    return { kind: "digits", mask: 1 << digit };
  };
  const sequence = (): Pattern => {
    const items: Pattern[] = [];
    while (at < source.length && source.charAt(at) !== "|" && source.charAt(at) !== ")") {
      let item = atom();
      const char = source.charAt(at);
      if (char === "?") {
        at += 1;
        item = { kind: "repeat", item, min: 0, max: 1 };
      } else if (char === "{") {
        at += 1;
        const min = number();
        let max = min;
        if (source.charAt(at) === ",") {
          at += 1;
          max = number();
        }
        if (source.charAt(at) !== "}" || max < min) fail();
        at += 1;
        item = { kind: "repeat", item, min, max };
      }
      items.push(item);
    }
    return items.length === 1 ? (items[0] as Pattern) : { kind: "sequence", items };
  };
  const either = (): Pattern => {
    const options = [sequence()];
    while (source.charAt(at) === "|") {
      at += 1;
      options.push(sequence());
    }
    return options.length === 1 ? (options[0] as Pattern) : { kind: "either", options };
  };
  const pattern = either();
  if (at !== source.length) fail();
  return pattern;
}

/** A Thompson NFA: per state at most one digit transition (mask and target) and any number of empty ones. */
class Nfa {
  readonly mask: number[] = [];
  readonly target: number[] = [];
  readonly empty: number[][] = [];
  /** Per state: the bit of the pattern whose final state it is (0 for none). */
  readonly accepts: number[] = [];

  state(): number {
    this.mask.push(0);
    this.target.push(-1);
    this.empty.push([]);
    this.accepts.push(0);
    return this.mask.length - 1;
  }

  /** Adds the pattern after state `from`; returns the state it ends in. */
  add(pattern: Pattern, from: number): number {
    switch (pattern.kind) {
      case "digits": {
        const to = this.state();
        // A fresh state to hold the transition: `from` may carry one already.
        const via = this.state();
        this.empty[from]?.push(via);
        this.mask[via] = pattern.mask;
        this.target[via] = to;
        return to;
      }
      case "sequence":
        return pattern.items.reduce((at, item) => this.add(item, at), from);
      case "either": {
        const end = this.state();
        for (const option of pattern.options) this.empty[this.add(option, from)]?.push(end);
        return end;
      }
      case "repeat": {
        let at = from;
        for (let i = 0; i < pattern.min; i += 1) at = this.add(pattern.item, at);
        if (pattern.max === pattern.min) return at;
        const end = this.state();
        this.empty[at]?.push(end);
        for (let i = pattern.min; i < pattern.max; i += 1) {
          at = this.add(pattern.item, at);
          this.empty[at]?.push(end);
        }
        return end;
      }
    }
  }

  /** The states reachable from `states` by empty transitions, sorted. */
  closure(states: Iterable<number>): number[] {
    const seen = new Set<number>();
    const stack = [...states];
    while (stack.length > 0) {
      const state = stack.pop() as number;
      if (seen.has(state)) continue;
      seen.add(state);
      for (const next of this.empty[state] ?? []) stack.push(next);
    }
    return [...seen].sort((a, b) => a - b);
  }
}

/** Bit `length` set for every allowed length (numbers are at most 17 digits; 31 is the last bit used). */
function lengthMask(lengths: Iterable<number> | null): number {
  if (lengths === null) return ~0;
  let mask = 0;
  for (const length of lengths) if (length >= 0 && length < 32) mask |= 1 << length;
  return mask;
}

/** One number-type pattern and the lengths it allows (null: any). */
export interface TypeSource {
  readonly pattern: string;
  readonly lengths: Iterable<number> | null;
}

/** Automaton states kept per region before the table starts again (memory stays bounded whatever the input; the EU regions settle at 60-450). */
const STATE_LIMIT = 8192;
const UNKNOWN = -1;

/** Whether digit strings are valid numbers of one region, by the general pattern, the type patterns and their lengths. */
export class DigitAutomaton {
  readonly #nfa = new Nfa();
  readonly #start: readonly number[];
  readonly #regionLengths: number;
  /** Per pattern bit (1: general, 2 << t: type t): the lengths the type allows. */
  readonly #typeLengths: readonly number[];
  /** Per automaton state: its NFA states. */
  #sets: (readonly number[])[] = [];
  #ids = new Map<string, number>();
  /** Per automaton state and digit: the next state, or UNKNOWN until first taken. */
  #next = new Int32Array(0);
  /** Per automaton state: the number lengths at which it accepts (0: none, so also the dead state's). */
  #valid = new Int32Array(0);
  readonly #stateLimit: number;

  constructor(general: string, types: readonly TypeSource[], regionLengths: Iterable<number>, stateLimit = STATE_LIMIT) {
    this.#stateLimit = stateLimit;
    const nfa = this.#nfa;
    const starts: number[] = [];
    const patterns = [general, ...types.map((type) => type.pattern)];
    patterns.forEach((source, index) => {
      const start = nfa.state();
      starts.push(start);
      nfa.accepts[nfa.add(parsePattern(source), start)] = 1 << index;
    });
    this.#start = nfa.closure(starts);
    this.#regionLengths = lengthMask(regionLengths);
    this.#typeLengths = types.map((type) => lengthMask(type.lengths));
    this.#reset();
  }

  #reset(): void {
    this.#sets = [];
    this.#ids = new Map();
    this.#next = new Int32Array(256 * 10).fill(UNKNOWN);
    this.#valid = new Int32Array(256);
    this.#intern([]); // 0: the dead state
    this.#intern(this.#start); // 1: the start
  }

  #intern(states: readonly number[]): number {
    const key = states.join(",");
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    const id = this.#sets.length;
    this.#sets.push(states);
    this.#ids.set(key, id);
    if (this.#valid.length <= id) {
      const next = new Int32Array(this.#next.length * 2).fill(UNKNOWN);
      next.set(this.#next);
      this.#next = next;
      const valid = new Int32Array(this.#valid.length * 2);
      valid.set(this.#valid);
      this.#valid = valid;
    }
    let patternBits = 0;
    for (const state of states) patternBits |= this.#nfa.accepts[state] ?? 0;
    let lengths = 0;
    if ((patternBits & 1) !== 0) this.#typeLengths.forEach((typeLengths, t) => (lengths |= (patternBits & (2 << t)) !== 0 ? typeLengths : 0));
    this.#valid[id] = lengths & this.#regionLengths;
    if (id === 0) this.#next.fill(0, 0, 10);
    return id;
  }

  #step(from: number, digit: number): number {
    const nfa = this.#nfa;
    const reached: number[] = [];
    for (const state of this.#sets[from] ?? []) if (((nfa.mask[state] ?? 0) & (1 << digit)) !== 0) reached.push(nfa.target[state] ?? 0);
    const to = this.#intern(nfa.closure(reached));
    this.#next[from * 10 + digit] = to;
    return to;
  }

  /** Automaton states built so far (the dead state and the start included). */
  get size(): number {
    return this.#sets.length;
  }

  /** Whether digits[from, to) (values 0-9) are a valid national significant number of the region. */
  accepts(digits: Uint8Array, from: number, to: number): boolean {
    const length = to - from;
    if (length <= 0 || length >= 32 || ((this.#regionLengths >>> length) & 1) === 0) return false;
    if (this.#sets.length > this.#stateLimit) this.#reset();
    let state = 1;
    for (let i = from; i < to && state !== 0; i += 1) {
      const digit = digits[i] ?? 0;
      const next = this.#next[state * 10 + digit] ?? UNKNOWN;
      state = next === UNKNOWN ? this.#step(state, digit) : next;
    }
    return (((this.#valid[state] ?? 0) >>> length) & 1) === 1;
  }
}
