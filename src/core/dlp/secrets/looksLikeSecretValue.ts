import { characterClasses, isPlaceholder, shannonEntropy } from "./placeholder.js";

// References and expressions, not values: `<...>`, `${X}`, `{{ x }}`, `%X%`, environment lookups (Node's and Python's), `config.x`, calls.
const REFERENCE = /^(?:<.*>|\$\{?.*|\{\{.*|%.*%|\*+|.*\.\.\.|(?:process\.env|os\.environ|os\.getenv|env|getenv|config|settings|self|this|secrets|vars)\b.*|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|.*\(.*)$/i;
// Words and identifiers name things ("audit-digest-key", "cl100k_base", "bearer"); they are not chosen secrets.
const IDENTIFIER = /^[a-z]+\d*(?:[-_.][a-z]+\d*)*$/;
const NOT_A_VALUE = /^(?:true|false|null|none|nil|undefined|required|optional|redacted|changeme|secret|password|token|bearer|basic|string|number|boolean|env|default|empty|hidden|masked|n\/a)$/i;

const ENVIRONMENT_WORD = /^(?:env|getenv|config|settings|self|this|secrets|vars)\b/i;

/**
 * Whether REFERENCE can match at all: it starts with one of "<$%{*", an environment word, or has a "." or
 * "(" in it. Checked first because two of REFERENCE's branches read the whole value and back off.
 */
function mayBeReference(value: string): boolean {
  const first = value.charCodeAt(0);
  return first === 60 || first === 36 || first === 37 || first === 123 || first === 42 || value.includes(".") || value.includes("(") || ENVIRONMENT_WORD.test(value);
}

/** A value assigned to a secret-like name counts when it looks chosen, not like a word or a reference. */
export function looksLikeSecretValue(value: string): boolean {
  if (value.length < 8 || (mayBeReference(value) && REFERENCE.test(value)) || NOT_A_VALUE.test(value) || isPlaceholder(value)) return false;
  if (IDENTIFIER.test(value) && value.length < 24) return false;
  const classes = characterClasses(value);
  if (classes < 2) return value.length >= 20 && shannonEntropy(value) >= 3.5;
  return shannonEntropy(value) >= Math.min(2.5, Math.log2(value.length) * 0.8);
}

/** Stricter, for names that only say "key" (`primary_key`, `AZURE_OPENAI_KEY`): long and random-looking. */
export function looksLikeKeyValue(value: string): boolean {
  return value.length >= 20 && looksLikeSecretValue(value) && /\d/.test(value) && shannonEntropy(value) >= 3;
}
