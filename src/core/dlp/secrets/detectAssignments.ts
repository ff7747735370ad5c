import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";
import { looksLikeKeyValue, looksLikeSecretValue } from "./looksLikeSecretValue.js";
import { shannonEntropy } from "./placeholder.js";
import { type VendorName, vendorFor } from "./vendorNames.js";

// A name whose value is a secret: the secret word ENDS the name, up to a short suffix ("DB_PASSWORD",
// "client_secret_2", "slackBotToken"), so "tokenizer", "token_limit" and "password_policy" are not.
const SECRET_NAME =
  /(?:pass(?:word|wd|phrase|code)?|passwort|kennwort|wachtwoord|contrase(?:ñ|n)a|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signing[_-]?key|credentials?|creds|connection[_-]?string|conn[_-]?str|sas[_-]?token|sig)(?:s|[_-]?\d+|[_-]?(?:value|string|str|plain|b64|base64))?$/i;
// Names that end in "key" alone: only long random-looking values count ("primary_key: id" does not).
const KEY_NAME = /(?:^|[_-]|[a-z](?=K))(?:key|Key|KEY)\d?$/;
const NOT_A_SECRET_NAME = /(?:name|id|path|file|url|uri|type|count|length|len|size|ttl|expiry|expires|hash|version|header|field|env|var|ref|format|policy|endpoint|prefix)$/i;
const VALUE = /(["'`]?)([^\s"'`,;)\]}]{8,65536})/y;

/** [A-Za-z0-9_.-] */
function isNameChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 45 || code === 46;
}

function isLetter(code: number): boolean {
  const lower = code | 32;
  return lower >= 97 && lower <= 122;
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * `name = value`, `name: value`, `"name": "value"`, `name := value`, `name => value`, Terraform's aligned
 * `db_password    = "..."`, `os.environ["NAME"] = "..."`, with a name that says the value is a secret.
 * Found by walking back from each ":" and "=", which are rare in prose.
 */
export function detectAssignments(text: string, out: Candidate[], foundScore: FoundScore = () => -1): void {
  scanOperator(text, ":", out, foundScore);
  scanOperator(text, "=", out, foundScore);
}

/** 30 bits: small integers stay unboxed. */
const HASH_MASK = 0x3fffffff;
const KINDS_LIMIT = 4096;

/**
 * Names repeat within a text (a CSV header, a log's "user=", a config's keys) and across texts (a streamed
 * answer's context is scanned again at every step; "Mobil:", "password:" recur): each name is classified
 * once and kept, at most KINDS_LIMIT of them (a name's kind depends on the name alone). Looked up by a
 * hash of its characters computed while walking back over it, and compared in place: no string is cut
 * out of the text for a name seen before (a slice and a Map look-up per operator cost a third of this detector).
 */
class NameKinds {
  /** hash + 1 per slot (0: empty), open addressing at most half full. */
  readonly #keys = new Int32Array(KINDS_LIMIT * 2);
  readonly #entry = new Int32Array(KINDS_LIMIT * 2);
  #names: string[] = [];
  #kinds: NameKind[] = [];

  kindOf(text: string, from: number, to: number, hash: number): NameKind {
    const keys = this.#keys;
    const mask = keys.length - 1;
    let slot = hash & mask;
    for (let key = keys[slot] ?? 0; key !== 0; key = keys[slot] ?? 0) {
      if (key === hash + 1) {
        const index = this.#entry[slot] ?? 0;
        const name = this.#names[index] ?? "";
        if (name.length === to - from && text.startsWith(name, from)) return this.#kinds[index] ?? null;
      }
      slot = (slot + 1) & mask;
    }
    const name = text.slice(from, to);
    const kind = nameKind(name);
    if (this.#names.length >= KINDS_LIMIT) {
      keys.fill(0);
      this.#names = [];
      this.#kinds = [];
      slot = hash & mask;
    }
    keys[slot] = hash + 1;
    this.#entry[slot] = this.#names.length;
    this.#names.push(name);
    this.#kinds.push(kind);
    return kind;
  }
}

const nameKinds = new NameKinds();

/** The best score an earlier detector gave exactly this span as this type, or -1 (DetectorContext.foundScore). */
type FoundScore = (type: "API_KEY", start: number, end: number) => number;

const SCORE = 0.75;

/** What a name says about its value: a secret ("password"), a key ("AZURE_OPENAI_KEY"), a vendor's value, or nothing. */
type NameKind = "secret" | "key" | VendorName | null;

function nameKind(name: string): NameKind {
  if (NOT_A_SECRET_NAME.test(name)) return null;
  if (SECRET_NAME.test(name)) return "secret";
  if (KEY_NAME.test(name)) return "key";
  return vendorFor(name) ?? null;
}

function scanOperator(text: string, operator: ":" | "=", out: Candidate[], foundScore: FoundScore): void {
  let at = text.indexOf(operator);
  // Only once an operator is found: a text without one never copies its units.
  const units = at === -1 ? null : codeUnitsOf(text);
  while (at !== -1 && units !== null) {
    const next = at + 1;
    at = text.indexOf(operator, next);
    const following = text.charAt(next);
    if ((operator === ":" && (following === "=" || following === ":" || following === "/")) || (operator === "=" && (text.charAt(next - 2) === ":" || following === "=" || text.charAt(next - 2) === "="))) continue;
    let nameEnd = next - 1;
    // Aligned assignments (Terraform, YAML written by hand) put up to a few dozen blanks before the operator.
    while (nameEnd > 0 && isBlank(units[nameEnd - 1] ?? -1) && next - 1 - nameEnd < 40) nameEnd -= 1;
    let code = units[nameEnd - 1] ?? -1;
    // os.environ["NAME"] = "...", settings['NAME'] = ...
    if (code === 93) {
      nameEnd -= 1;
      code = units[nameEnd - 1] ?? -1;
    }
    if (nameEnd > 0 && (code === 34 || code === 39 || code === 96)) nameEnd -= 1;
    // Back over the name, hashing it (sum of code * 31^(characters after it)) and noting whether it holds a letter.
    let nameStart = nameEnd;
    let hash = 0;
    let power = 1;
    let letters = false;
    while (nameStart > 0 && nameEnd - nameStart < 64) {
      const nameCode = units[nameStart - 1] ?? -1;
      if (!isNameChar(nameCode)) break;
      if (isLetter(nameCode)) letters = true;
      hash = (hash + Math.imul(nameCode, power)) & HASH_MASK;
      power = Math.imul(power, 31) & HASH_MASK;
      nameStart -= 1;
    }
    // Every secret-ish name holds a letter; times ("10:30:00") and ports (":5432") do not, and skip the name tests.
    if (!letters) continue;
    const kind = nameKinds.kindOf(text, nameStart, nameEnd, hash);
    if (kind === null) continue;
    const secretName = kind === "secret";
    const keyName = kind === "key";
    const vendor = typeof kind === "object" ? kind : undefined;
    let cursor = operator === "=" && following === ">" ? next + 1 : next;
    while (cursor < text.length && isBlank(units[cursor] ?? -1) && cursor - next < 8) cursor += 1;
    VALUE.lastIndex = cursor;
    const m = VALUE.exec(text);
    if (m === null) continue;
    const value = m[2] ?? "";
    const start = cursor + (m[1]?.length ?? 0);
    // A vendor token ("export API_TOKEN=ghp_...") is found by its rule first: validating it again cost as much as the rest of the line.
    if (foundScore("API_KEY", start, start + value.length) >= SCORE) continue;
    const accepted = secretName ? looksLikeSecretValue(value) : keyName ? looksLikeKeyValue(value) : (vendor?.value.test(value) ?? false) && shannonEntropy(value) >= 3;
    if (!accepted) continue;
    out.push({ type: "API_KEY", start, end: start + value.length, score: SCORE });
  }
}
