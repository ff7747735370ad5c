import { Buffer } from "node:buffer";
import { hasPositiveContext, scoreWithContext } from "../context.js";
import { type Candidate } from "../types.js";

const OPENAI = /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}/y;
const AWS_ACCESS_KEY_ID = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/y;
const GITHUB = /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,})(?![A-Za-z0-9_])/y;
const SLACK = /(?<![A-Za-z0-9])xox[bpars]-[A-Za-z0-9]+(?:-[A-Za-z0-9]+){1,4}/y;
const AZURE_ACCOUNT_KEY = /AccountKey=([A-Za-z0-9+/]{86}==)/y;
const BASE64_88 = /(?<![A-Za-z0-9+/=-])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/y;
const SAS_SIGNATURE = /(?<=[?&;])sig=([A-Za-z0-9%+/=]{16,})/y;
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/y;
const PEM_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----/y;
const BEARER = /(?<![A-Za-z])[Bb]earer +([A-Za-z0-9\-._~+/]{20,}=*)/y;
/** Every literal a secret pattern starts with: one pass over the text finds them all. */
const TRIGGER = /sk-|AKIA|ASIA|gh[pousr]_|github_pat_|xox[bpars]-|AccountKey=|sig=|eyJ|-----BEGIN|[Bb]earer |==/g;
// Names whose value is a secret; found by walking back from each ":" and "=", which are rare in prose.
const SECRET_NAME = /(?:pass(?:word|wd|phrase)?|passwort|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|connection[_-]?string)[A-Za-z0-9_-]{0,24}$/i;
const NOT_A_SECRET_NAME = /(?:name|id|path|file|url|uri|type|count|length|len|size|ttl|expiry|expires|hash|version)$/i;
/** [A-Za-z0-9_.-] */
function isNameChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 45 || code === 46;
}
const VALUE = /(["'`]?)([^\s"'`,;)\]}]{8,200})/y;
const PLACEHOLDER = /^(?:<.*>|\$\{?.*|\{\{.*|%.*%|\*+|x{4,}.*|.*\.\.\.|(?:process\.env|os\.environ|env|getenv|config|settings|self|this)\b.*|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|.*\(.*)$/i;

function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function characterClasses(value: string): number {
  return (/[a-z]/.test(value) ? 1 : 0) + (/[A-Z]/.test(value) ? 1 : 0) + (/\d/.test(value) ? 1 : 0) + (/[^A-Za-z0-9]/.test(value) ? 1 : 0);
}

/** A value assigned to a secret-like name counts when it looks chosen, not like a word or a reference. */
export function looksLikeSecretValue(value: string): boolean {
  if (value.length < 8 || PLACEHOLDER.test(value)) return false;
  // kebab-case or snake_case words name things ("audit-digest-key"); they are not chosen secrets.
  if (/^[a-z]+(?:[-_.][a-z]+)+$/.test(value)) return false;
  if (/^(?:true|false|null|none|undefined|required|optional|redacted|changeme)$/i.test(value)) return false;
  const classes = characterClasses(value);
  if (classes < 2) return value.length >= 20 && shannonEntropy(value) >= 3.5;
  return shannonEntropy(value) >= Math.min(2.5, Math.log2(value.length) * 0.8);
}

function jwtHeaderHasAlg(token: string): boolean {
  const header = token.slice(0, token.indexOf("."));
  try {
    const decoded: unknown = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    return typeof decoded === "object" && decoded !== null && typeof (decoded as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

/** End of a PEM block: its END line, or (no END yet) the last line of base64 after the header. */
export function pemBlockEnd(text: string, headerEnd: number, label: string): number {
  const endMarker = `-----END ${label}PRIVATE KEY-----`;
  const endAt = text.indexOf(endMarker, headerEnd);
  const nextBegin = text.indexOf("-----BEGIN", headerEnd);
  if (endAt !== -1 && (nextBegin === -1 || endAt < nextBegin)) return endAt + endMarker.length;
  let end = headerEnd;
  let lineStart = headerEnd;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).trim();
    if (line !== "" && !/^[A-Za-z0-9+/=]+$/.test(line) && !/^[A-Za-z-]+: /.test(line)) break;
    if (line !== "") end = lineStart + text.slice(lineStart, lineEnd).trimEnd().length;
    lineStart = lineEnd + 1;
  }
  return end;
}

function push(out: Candidate[], start: number, end: number, score: number): number {
  out.push({ type: "API_KEY", start, end, score });
  return end;
}

/** Tries the pattern that the trigger literal at `at` announces; returns the end of a finding, or -1. */
function secretAt(text: string, at: number, trigger: string, out: Candidate[]): number {
  let m: RegExpExecArray | null;
  switch (trigger.slice(0, 2)) {
    case "sk": {
      m = exec(OPENAI, text, at);
      if (m === null) return -1;
      const body = m[0].slice(3);
      return /\d/.test(body) && /[A-Za-z]/.test(body) && characterClasses(body) >= 3 ? push(out, at, at + m[0].length, 0.95) : -1;
    }
    case "AK":
    case "AS":
      m = exec(AWS_ACCESS_KEY_ID, text, at);
      return m === null ? -1 : push(out, at, at + m[0].length, 0.95);
    case "gh":
    case "gi":
      m = exec(GITHUB, text, at);
      return m === null ? -1 : push(out, at, at + m[0].length, 0.95);
    case "xo":
      m = exec(SLACK, text, at);
      return m === null || m[0].length < 20 ? -1 : push(out, at, at + m[0].length, 0.95);
    case "Ac": {
      m = exec(AZURE_ACCOUNT_KEY, text, at);
      if (m === null) return -1;
      const start = at + "AccountKey=".length;
      return push(out, start, start + (m[1]?.length ?? 0), 0.95);
    }
    case "si": {
      m = exec(SAS_SIGNATURE, text, at);
      if (m === null) return -1;
      const start = at + m[0].length - (m[1]?.length ?? 0);
      return push(out, start, at + m[0].length, 0.9);
    }
    case "ey":
      m = exec(JWT, text, at);
      return m === null || !jwtHeaderHasAlg(m[0]) ? -1 : push(out, at, at + m[0].length, 0.9);
    case "--": {
      m = exec(PEM_BEGIN, text, at);
      if (m === null) return -1;
      return push(out, at, pemBlockEnd(text, at + m[0].length, m[1] ?? ""), 1);
    }
    case "Be":
    case "be": {
      m = exec(BEARER, text, at);
      const value = m?.[1] ?? "";
      if (m === null || !looksLikeSecretValue(value)) return -1;
      return push(out, at + m[0].length - value.length, at + m[0].length, 0.8);
    }
    case "==": {
      // 88 base64 characters ending "==": an Azure storage key, or just a SHA-512. Only with words that say "key".
      const start = at - 86;
      if (start < 0 || /accountkey=$/i.test(text.slice(Math.max(0, start - 11), start))) return -1;
      m = exec(BASE64_88, text, start);
      if (m === null || !hasPositiveContext("API_KEY", text, start)) return -1;
      return push(out, start, start + m[0].length, scoreWithContext("API_KEY", 0.3, text, start));
    }
    default:
      return -1;
  }
}

function exec(re: RegExp, text: string, position: number): RegExpExecArray | null {
  re.lastIndex = position;
  return re.exec(text);
}

export function detectApiKeys(text: string, out: Candidate[]): void {
  TRIGGER.lastIndex = 0;
  let covered = 0;
  for (let t = TRIGGER.exec(text); t !== null; t = TRIGGER.exec(text)) {
    const at = t.index;
    if (at < covered) continue;
    const end = secretAt(text, at, t[0], out);
    if (end > at) {
      covered = end;
      TRIGGER.lastIndex = Math.max(TRIGGER.lastIndex, end);
    }
  }
  detectAssignments(text, ":", out);
  detectAssignments(text, "=", out);
}

/** `name = value`, `name: value`, `"name": "value"`, `name := value`, `name => value` with a secret-like name. */
function detectAssignments(text: string, operator: ":" | "=", out: Candidate[]): void {
  let at = text.indexOf(operator);
  while (at !== -1) {
    const next = at + 1;
    at = text.indexOf(operator, next);
    const following = text.charAt(next);
    if ((operator === ":" && following === "=") || (operator === "=" && (text.charAt(next - 2) === ":" || following === "="))) continue;
    let nameEnd = next - 1;
    while (nameEnd > 0 && text.charCodeAt(nameEnd - 1) === 32 && next - 1 - nameEnd < 3) nameEnd -= 1;
    const quote = text.charCodeAt(nameEnd - 1);
    if (nameEnd > 0 && (quote === 34 || quote === 39 || quote === 96)) nameEnd -= 1;
    let nameStart = nameEnd;
    while (nameStart > 0 && isNameChar(text.charCodeAt(nameStart - 1)) && nameEnd - nameStart < 64) nameStart -= 1;
    if (nameStart === nameEnd) continue;
    const name = text.slice(nameStart, nameEnd);
    if (!SECRET_NAME.test(name) || NOT_A_SECRET_NAME.test(name)) continue;
    let cursor = operator === "=" && following === ">" ? next + 1 : next;
    while (cursor < text.length && (text.charAt(cursor) === " " || text.charAt(cursor) === "\t") && cursor - next < 4) cursor += 1;
    VALUE.lastIndex = cursor;
    const m = VALUE.exec(text);
    if (m === null) continue;
    const value = m[2] ?? "";
    if (!looksLikeSecretValue(value)) continue;
    const start = cursor + (m[1]?.length ?? 0);
    out.push({ type: "API_KEY", start, end: start + value.length, score: 0.75 });
  }
}
