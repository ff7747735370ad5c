import { KeywordIndex } from "../KeywordIndex.js";
import { type Candidate, type EntityType } from "../types.js";
import { isPlaceholder, shannonEntropy } from "./placeholder.js";
import { type SecretRule } from "./SecretRule.js";

/**
 * A rule with its defaults filled in, every field present: the rules are object literals with different
 * optional fields (a different shape each), so reading them in the scan was a generic property look-up
 * each time; these objects all share one shape.
 */
interface CompiledRule {
  /** The rule's pattern, sticky (`y`), with indices (`d`) when a capture group is the secret, so it maps to exact offsets. */
  readonly pattern: RegExp;
  readonly groups: readonly number[];
  readonly type: EntityType;
  readonly score: number;
  readonly keywordOffset: number | "token";
  readonly wraps: boolean;
  readonly minEntropy: number | undefined;
  readonly validate: SecretRule["validate"];
  readonly extendTo: SecretRule["extendTo"];
  readonly allowlist: readonly RegExp[];
}

interface KeywordEntry {
  readonly keyword: string;
  readonly compiled: CompiledRule;
}

/** Characters a wrapped token is made of; a line break between two of them may be a terminal's wrap. */
function isTokenChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 43 || code === 47 || code === 61 || code === 95 || code === 45;
}

function isDigitCode(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Start of the word holding `at` (back over non-space, non-quote characters), at most 160 back. */
function tokenStart(text: string, at: number): number {
  let start = at;
  while (start > 0 && at - start < 160) {
    const code = text.charCodeAt(start - 1);
    if (code <= 32 || code === 34 || code === 39 || code === 96 || code === 40 || code === 60 || code === 61) break;
    start -= 1;
  }
  return start;
}

/** Where the line break at `i` ends, when the run after it is token material (a digit in it), or -1. */
function continuationAfter(text: string, i: number): number {
  let next = i + 1;
  if (text.charCodeAt(i) === 13 && text.charCodeAt(next) === 10) next += 1;
  // The continuation must look like token material (a digit in its run), not the next sentence.
  let runEnd = next;
  let hasDigit = false;
  while (runEnd < text.length && isTokenChar(text.charCodeAt(runEnd))) {
    if (isDigitCode(text.charCodeAt(runEnd))) hasDigit = true;
    runEnd += 1;
  }
  return runEnd > next && hasDigit ? next : -1;
}

/** A token with the line breaks inside it removed: the view, and where each of its pieces (between breaks) starts in the view and in the text. */
interface Unwrapped {
  readonly view: string;
  readonly viewStarts: readonly number[];
  readonly textStarts: readonly number[];
}

/** Text offset of view unit `index` (0 <= index < view.length). */
function textOffsetOf(unwrappedToken: Unwrapped, index: number): number {
  const { viewStarts, textStarts } = unwrappedToken;
  let k = viewStarts.length - 1;
  while (k > 0 && (viewStarts[k] ?? 0) > index) k -= 1;
  return (textStarts[k] ?? 0) + index - (viewStarts[k] ?? 0);
}

/**
 * A view of `text` from `start` with line breaks inside a token removed, built from slices between the
 * breaks (one piece per line, not one string and one offset per character); null when no line break
 * inside the token is followed by token material (checked first, without building anything: a token at
 * the end of a line is the common case).
 */
function unwrapped(text: string, start: number, limit: number): Unwrapped | null {
  let i = start;
  while (i < text.length && i - start < limit && text.charCodeAt(i) > 32) i += 1;
  const code = text.charCodeAt(i);
  if (i === start || (code !== 10 && code !== 13) || !isTokenChar(text.charCodeAt(i - 1)) || continuationAfter(text, i) === -1) return null;
  let view = "";
  const viewStarts: number[] = [];
  const textStarts: number[] = [];
  let pieceStart = start;
  i = start;
  while (i < text.length && view.length + i - pieceStart < limit) {
    const unit = text.charCodeAt(i);
    if ((unit === 10 || unit === 13) && view.length + i - pieceStart > 0 && isTokenChar(text.charCodeAt(i - 1))) {
      const next = continuationAfter(text, i);
      if (next === -1) break;
      if (i > pieceStart) {
        viewStarts.push(view.length);
        textStarts.push(pieceStart);
        view += text.slice(pieceStart, i);
      }
      i = next;
      pieceStart = next;
      continue;
    }
    if (unit <= 32) break;
    i += 1;
  }
  if (i > pieceStart) {
    viewStarts.push(view.length);
    textStarts.push(pieceStart);
    view += text.slice(pieceStart, i);
  }
  return { view, viewStarts, textStarts };
}

/**
 * Runs a table of secret rules over a text: the keywords of every rule are found in ONE pass (the scan's
 * shared KeywordIndex, or this scanner's own), and a rule's own (sticky) pattern is tried only where one
 * of its keywords stands — gitleaks' keyword prefilter, which keeps the cost on prose close to that pass.
 */
export class SecretRuleScanner {
  /** Every rule's keywords, for the shared keyword pass. */
  readonly keywords: readonly string[];
  /** Keyword entries by their first two characters (ASCII, 7 bits each). */
  readonly #slot = new Int16Array(128 * 128).fill(-1);
  readonly #lists: KeywordEntry[][] = [];
  readonly #index: KeywordIndex;

  constructor(rules: readonly SecretRule[]) {
    for (const rule of rules) {
      const groups = rule.secretGroups ?? [0];
      // Match indices ("d") cost an array per group on every match: asked for only when a group other than the whole match is the secret.
      const flags = [...new Set(`${rule.pattern.flags.replace(/[gyd]/g, "")}${groups.some((g) => g !== 0) ? "d" : ""}y`)].join("");
      const compiled: CompiledRule = {
        pattern: new RegExp(rule.pattern.source, flags),
        groups,
        type: rule.type ?? "API_KEY",
        score: rule.score ?? 0.95,
        keywordOffset: rule.keywordOffset ?? 0,
        wraps: rule.wraps !== false,
        minEntropy: rule.minEntropy,
        validate: rule.validate,
        extendTo: rule.extendTo,
        allowlist: rule.allowlist ?? [],
      };
      for (const keyword of rule.keywords) {
        const first = keyword.charCodeAt(0);
        const second = keyword.charCodeAt(1);
        if (keyword.length < 2 || first > 127 || second > 127) throw new Error(`secret rule ${rule.id}: keyword "${keyword}" must start with two ASCII characters`);
        const key = (first << 7) | second;
        if (this.#slot[key] === -1) {
          this.#slot[key] = this.#lists.length;
          this.#lists.push([]);
        }
        this.#lists[this.#slot[key] ?? 0]?.push({ keyword, compiled });
      }
    }
    this.keywords = [...new Set(rules.flatMap((rule) => rule.keywords))];
    this.#index = new KeywordIndex([this.keywords]);
  }

  scan(text: string, out: Candidate[]): void {
    this.scanAt(text, this.#index.find(text)[0] ?? [], out);
  }

  /** Tries the rules at `positions` (ascending), where one of `keywords` was found. */
  scanAt(text: string, positions: readonly number[], out: Candidate[]): void {
    const slot = this.#slot;
    const lists = this.#lists;
    let covered = 0;
    for (const at of positions) {
      if (at < covered) continue;
      const entries = lists[slot[(text.charCodeAt(at) << 7) | text.charCodeAt(at + 1)] ?? -1] ?? [];
      for (const entry of entries) {
        if (!text.startsWith(entry.keyword, at)) continue;
        const end = this.#tryRule(text, at, entry.compiled, covered, out);
        if (end > at) {
          covered = Math.max(covered, end);
          break;
        }
      }
    }
  }

  /** Tries one rule for the keyword at `at`; returns the end of what it found, or -1. */
  #tryRule(text: string, at: number, compiled: CompiledRule, covered: number, out: Candidate[]): number {
    const pattern = compiled.pattern;
    const offset = compiled.keywordOffset;
    const start = offset === "token" ? tokenStart(text, at) : at - offset;
    if (start < covered || start < 0) return -1;
    pattern.lastIndex = start;
    let match = pattern.exec(text);
    let origin: Unwrapped | null = null;
    let originPrefix = 0;
    const matchEnd = match === null ? start : start + match[0].length;
    // A token wrapped by a terminal: try again with the line breaks inside it removed.
    if (compiled.wraps && (match === null || text.charCodeAt(matchEnd) === 10 || text.charCodeAt(matchEnd) === 13)) {
      const view = unwrapped(text, start, 4096);
      if (view !== null) {
        const prefix = text.charAt(start - 1);
        pattern.lastIndex = prefix.length;
        const joined = pattern.exec(prefix + view.view);
        if (joined !== null && joined[0].length > (match?.[0].length ?? 0)) {
          match = joined;
          origin = view;
          originPrefix = prefix.length;
        }
      }
    }
    if (match === null) return -1;
    // Offsets in the joined "prefix + view" back to the text: the prefix character maps to -1, past the end to undefined.
    const originAt = (index: number): number | undefined => {
      if (origin === null || index < 0 || index >= originPrefix + origin.view.length) return undefined;
      return index < originPrefix ? -1 : textOffsetOf(origin, index - originPrefix);
    };
    const toOriginal = (index: number): number => (origin === null ? index : (originAt(index) ?? -1));
    const toOriginalEnd = (index: number): number => (origin === null ? index : (originAt(index - 1) ?? -2) + 1);
    let end = -1;
    for (const group of compiled.groups) {
      const span = group === 0 ? null : match.indices?.[group];
      const secret = match[group];
      if ((group !== 0 && span === undefined) || secret === undefined || secret === "") continue;
      const secretStart = toOriginal(span?.[0] ?? match.index);
      let secretEnd = toOriginalEnd(span?.[1] ?? match.index + secret.length);
      if (secretStart < 0 || !this.#accepts(compiled, secret, text, secretStart)) continue;
      if (compiled.extendTo !== undefined) secretEnd = compiled.extendTo(text, secretEnd, match);
      out.push({ type: compiled.type, start: secretStart, end: secretEnd, score: compiled.score });
      end = Math.max(end, secretEnd);
    }
    return end;
  }

  #accepts(compiled: CompiledRule, secret: string, text: string, start: number): boolean {
    if (compiled.extendTo === undefined && isPlaceholder(secret)) return false;
    if (compiled.allowlist.some((allowed) => allowed.test(secret))) return false;
    if (compiled.minEntropy !== undefined && shannonEntropy(secret) < compiled.minEntropy) return false;
    return compiled.validate === undefined || compiled.validate(secret, text, start);
  }
}
