import { createHash, randomBytes } from "node:crypto";
import { type EntityType, type Finding } from "./types.js";

export interface RedactOptions {
  /** Builds the placeholder for the n-th distinct value of a type. Default `[TYPE_n]`. */
  readonly placeholder?: (type: EntityType, n: number) => string;
}

export interface RedactionResult {
  readonly text: string;
  readonly counts: Partial<Record<EntityType, number>>;
}

const defaultPlaceholder = (type: EntityType, n: number): string => `[${type}_${n}]`;

/**
 * Replaces findings with placeholders, numbering values per type across all texts of one request,
 * so the same card in two messages becomes the same `[CREDIT_CARD_1]`. Values are kept only as
 * salted digests, never in clear, and never leave this object.
 */
export class Redactor {
  readonly #placeholders = new Map<string, string>();
  readonly #next = new Map<EntityType, number>();
  readonly #counts: Partial<Record<EntityType, number>> = {};
  /** Made at the first placeholder: most requests have nothing to redact, and 16 random bytes cost a syscall (~5 µs). */
  #salt: string | undefined;
  readonly #placeholder: (type: EntityType, n: number) => string;

  constructor(options: RedactOptions = {}) {
    this.#placeholder = options.placeholder ?? defaultPlaceholder;
  }

  /** Findings redacted so far, by type. */
  get counts(): Partial<Record<EntityType, number>> {
    return { ...this.#counts };
  }

  /** Same value (ignoring case for emails and IBANs, and separators) -> same placeholder. */
  placeholderFor(type: EntityType, value: string): string {
    let canonical = value.normalize("NFKC").replace(/[\p{Cf}\s\-.()]/gu, "");
    if (type === "EMAIL_ADDRESS" || type === "IBAN_CODE") canonical = canonical.toLowerCase();
    this.#salt ??= randomBytes(16).toString("hex");
    const key = createHash("sha256").update(this.#salt).update(type).update("\u0000").update(canonical).digest("base64");
    const existing = this.#placeholders.get(key);
    if (existing !== undefined) return existing;
    const n = (this.#next.get(type) ?? 0) + 1;
    this.#next.set(type, n);
    const placeholder = this.#placeholder(type, n);
    this.#placeholders.set(key, placeholder);
    return placeholder;
  }

  redact(text: string, findings: readonly Finding[]): RedactionResult {
    const ordered = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
    const counts: Partial<Record<EntityType, number>> = {};
    let out = "";
    let cursor = 0;
    for (const finding of ordered) {
      if (finding.start < cursor || finding.end > text.length || finding.end <= finding.start) continue;
      out += text.slice(cursor, finding.start) + this.placeholderFor(finding.type, text.slice(finding.start, finding.end));
      cursor = finding.end;
      counts[finding.type] = (counts[finding.type] ?? 0) + 1;
      this.#counts[finding.type] = (this.#counts[finding.type] ?? 0) + 1;
    }
    return { text: out + text.slice(cursor), counts };
  }
}

/** Redacts one text on its own; use a `Redactor` to keep placeholders stable across a request's messages. */
export function redact(text: string, findings: readonly Finding[], options: RedactOptions = {}): RedactionResult {
  return new Redactor(options).redact(text, findings);
}
