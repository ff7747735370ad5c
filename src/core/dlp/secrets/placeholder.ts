/**
 * Values that secret scanners allowlist because they are examples or placeholders, not secrets:
 * AWS's documented `...EXAMPLE` keys, runs of x or 0, `<your-key>`, `${VAR}`, `REPLACE_ME`, `changeme`.
 * Checked on the secret itself (for a prefixed token, on what follows the prefix as well).
 */
const PLACEHOLDER_WORDS =
  /(?:x{5,}|X{5,}|\*{4,}|\.{3}|0{8,}|EXAMPLE|example|REPLACE|replace[_-]?me|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)|changeme|change[_-]me|placeholder|PLACEHOLDER|dummy|DUMMY|redacted|REDACTED|insert[_-]|INSERT[_-]|abcdefghij|ABCDEFGHIJ)/;
const YOUR_VALUE = /^(?:your|YOUR|Your|my|MY)[_-]/;
const TEMPLATE = /^(?:<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\{\{.*\}\}|%[A-Za-z_]+%|@[A-Za-z_]+@)$/;

/** "<", "$", "{", "%" or "@": the characters a TEMPLATE starts with. */
function mayBeTemplate(first: number): boolean {
  return first === 60 || first === 36 || first === 123 || first === 37 || first === 64;
}

/** "y", "Y", "m" or "M": the characters a YOUR_VALUE starts with. */
function mayBeYourValue(first: number): boolean {
  return first === 121 || first === 89 || first === 109 || first === 77;
}

export function isPlaceholder(secret: string): boolean {
  // The anchored expressions only where the first character can start them (most values start otherwise).
  const first = secret.charCodeAt(0);
  if ((mayBeTemplate(first) && TEMPLATE.test(secret)) || PLACEHOLDER_WORDS.test(secret) || (mayBeYourValue(first) && YOUR_VALUE.test(secret))) return true;
  // "sk_live_aaaaaaaa", "ghp_0000...": the part after the last "_" or "-" is one repeated character.
  const tailStart = Math.max(secret.lastIndexOf("_"), secret.lastIndexOf("-")) + 1;
  if (secret.length - tailStart < 4) return false;
  const repeated = secret.charCodeAt(tailStart);
  for (let i = tailStart + 1; i < secret.length; i += 1) if (secret.charCodeAt(i) !== repeated) return false;
  return true;
}

/** Per one-byte code: how often it was seen in the current value, valid while `seenIn` holds the value's generation. */
const counts = new Int32Array(256);
const seenIn = new Int32Array(256);
let generation = 0;
/** (c + 1) * log2(c + 1) - c * log2(c): what one more occurrence of a character adds to sum(c * log2(c)). */
const STEP = Float64Array.from({ length: 257 }, (_, c) => (c + 1) * Math.log2(c + 1) - (c === 0 ? 0 : c * Math.log2(c)));

function countLog(c: number): number {
  return c === 0 ? 0 : c * Math.log2(c);
}

/**
 * Bits per character: log2(n) - sum(c * log2(c)) / n over the counts c of each distinct character (the
 * same value as -sum(p * log2(p))), summed in ONE walk from a table (no log2 per distinct character, no
 * second walk to reset the counts: a generation number tells stale counts). Other than one-byte text in a Map.
 */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  generation = (generation + 1) | 0;
  if (generation === 0) {
    seenIn.fill(0);
    generation = 1;
  }
  let sum = 0;
  let i = 0;
  for (; i < n; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 255) break;
    let c = seenIn[code] === generation ? (counts[code] ?? 0) : 0;
    seenIn[code] = generation;
    sum += c < 256 ? (STEP[c] ?? 0) : countLog(c + 1) - countLog(c);
    c += 1;
    counts[code] = c;
  }
  if (i < n) {
    const byChar = new Map<number, number>();
    for (let k = 0; k < n; k += 1) byChar.set(value.charCodeAt(k), (byChar.get(value.charCodeAt(k)) ?? 0) + 1);
    sum = 0;
    for (const count of byChar.values()) sum += countLog(count);
  }
  // Rounded to 12 decimals, so a value of exactly a threshold (3.5 bits) is not lost to the last bit of the sum.
  return Math.round((Math.log2(n) - sum / n) * 1e12) / 1e12;
}

/** How many of lower case, upper case, digits and other characters the value has (0-4), in one walk. */
export function characterClasses(value: string): number {
  let seen = 0;
  for (let i = 0; i < value.length && seen !== 15; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 97 && code <= 122) seen |= 1;
    else if (code >= 65 && code <= 90) seen |= 2;
    else if (code >= 48 && code <= 57) seen |= 4;
    else seen |= 8;
  }
  return (seen & 1) + ((seen >> 1) & 1) + ((seen >> 2) & 1) + ((seen >> 3) & 1);
}
