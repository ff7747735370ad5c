/**
 * Values that secret scanners allowlist because they are examples or placeholders, not secrets:
 * AWS's documented `...EXAMPLE` keys, runs of x or 0, `<your-key>`, `${VAR}`, `REPLACE_ME`, `changeme`.
 * Checked on the secret itself (for a prefixed token, on what follows the prefix as well).
 */
const PLACEHOLDER_WORDS =
  /(?:x{5,}|X{5,}|\*{4,}|\.{3}|0{8,}|EXAMPLE|example|REPLACE|replace[_-]?me|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)|changeme|change[_-]me|placeholder|PLACEHOLDER|dummy|DUMMY|redacted|REDACTED|insert[_-]|INSERT[_-]|abcdefghij|ABCDEFGHIJ)/;
const YOUR_VALUE = /^(?:your|YOUR|Your|my|MY)[_-]/;
const TEMPLATE = /^(?:<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\{\{.*\}\}|%[A-Za-z_]+%|@[A-Za-z_]+@)$/;
const ONE_CHARACTER = /^(.)\1+$/;

export function isPlaceholder(secret: string): boolean {
  if (TEMPLATE.test(secret) || PLACEHOLDER_WORDS.test(secret) || YOUR_VALUE.test(secret)) return true;
  // "sk_live_aaaaaaaa", "ghp_0000...": the part after the last "_" or "-" is one repeated character.
  const tail = secret.slice(Math.max(secret.lastIndexOf("_"), secret.lastIndexOf("-")) + 1);
  return tail.length >= 4 && ONE_CHARACTER.test(tail);
}

const counts = new Int32Array(256);

/** Bits per character. One-byte text (the scan view) counts in a reused array; anything else in a Map. */
export function shannonEntropy(value: string): number {
  let entropy = 0;
  const n = value.length;
  let oneByte = true;
  for (let i = 0; i < n; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 255) {
      oneByte = false;
      break;
    }
    counts[code] = (counts[code] ?? 0) + 1;
  }
  if (!oneByte) {
    counts.fill(0);
    const byChar = new Map<number, number>();
    for (let i = 0; i < n; i += 1) byChar.set(value.charCodeAt(i), (byChar.get(value.charCodeAt(i)) ?? 0) + 1);
    for (const count of byChar.values()) entropy -= (count / n) * Math.log2(count / n);
    return entropy;
  }
  for (let i = 0; i < n; i += 1) {
    const code = value.charCodeAt(i);
    const count = counts[code] ?? 0;
    if (count === 0) continue;
    entropy -= (count / n) * Math.log2(count / n);
    counts[code] = 0;
  }
  return entropy;
}

export function characterClasses(value: string): number {
  return (/[a-z]/.test(value) ? 1 : 0) + (/[A-Z]/.test(value) ? 1 : 0) + (/\d/.test(value) ? 1 : 0) + (/[^A-Za-z0-9]/.test(value) ? 1 : 0);
}
