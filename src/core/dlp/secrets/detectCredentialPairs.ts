import { contextBefore } from "../context.js";
import { codeUnitsOf } from "../codeUnits.js";
import { type Candidate } from "../types.js";
import { characterClasses, isPlaceholder } from "./placeholder.js";

// scheme://user:password@host — the password is what lies between the first ":" of the authority and "@".
const URL_CREDENTIALS = /:\/\/([^\s:/?#@"'<>]{1,64}):([^\s/?#@"'<>]{1,256})@[A-Za-z0-9[]/y;
// user:password@host without a scheme (a DSN, a git remote).
const BARE_AUTHORITY = /(?<![\w.:/@-])([A-Za-z0-9._-]{1,64}):([^\s:/?#@"'<>]{3,128})@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])/y;
// curl -u user:password, --user=user:password
const CURL_USER = /(?<![\w-])(?:-u|--user)[ =]["']?([^\s:"']{1,64}):([^\s"']{3,128})/y;
// user:password written on its own, after a word that says these are credentials.
const PAIR = /(?<![\w.:/@-])([A-Za-z][A-Za-z0-9._-]{1,63}):([^\s:/@"'<>]{6,128})(?=[\s,;)]|$)/y;
const PAIR_CONTEXT =
  /(?:^|[^\p{L}])(?:login|logon|credentials?|creds|user(?:name)?|account|zugang(?:sdaten)?|anmeldedaten|benutzer(?:name)?|identifiants?|utilisateur|usuario|credenciales|acceso|gebruiker(?:snaam)?|inloggegevens|inlog|credenziali|utente|accesso|basic auth)(?:$|[^\p{L}])/u;
const NOT_A_PASSWORD = /^(?:password|passwort|pass|pwd|secret|token|changeme|\*+|x+|<[^>]*>|\$\{?\w+\}?|\{\{.*\}\}|\[[^\]]*\])$/i;

const CURL_FLAG_BEFORE = /(?:-u|--user)[ =]["']?$/;

/** [A-Za-z0-9._-] */
function isUserChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 46 || code === 95 || code === 45;
}

function chosenPassword(value: string): boolean {
  return !NOT_A_PASSWORD.test(value) && !isPlaceholder(value);
}

function sticky(pattern: RegExp, text: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

/** Where the password (capture group 2) of a match starting at `at` begins. */
function passwordStart(match: RegExpExecArray, at: number): number {
  return at + match[0].indexOf(":", match[0].indexOf(match[1] ?? "")) + 1;
}

/** Passwords in URLs, DSNs, `curl -u` and `user:password` pairs. Found from each ":"; the password alone is reported. */
export function detectCredentialPairs(text: string, out: Candidate[]): void {
  let colon = text.indexOf(":");
  let covered = 0;
  // The first "@" after the current ":" (-1: none left), found again only once the colons pass it.
  let atSign = -2;
  while (colon !== -1) {
    if (atSign !== -1 && atSign <= colon) atSign = text.indexOf("@", colon + 1);
    if (colon >= covered) {
      const end = credentialAt(text, colon, atSign, out);
      if (end > covered) covered = end;
    }
    colon = text.indexOf(":", colon + 1);
  }
}

/** Characters PAIR's password never starts with (blanks and line ends among its `\s`, and :/@"'<>). */
function neverStartsPairPassword(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 58 || code === 47 || code === 64 || code === 34 || code === 39 || code === 60 || code === 62;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
}

/** `atSign`: the first "@" after the ":", or -1. */
function credentialAt(text: string, colon: number, atSign: number, out: Candidate[]): number {
  if (text.startsWith("://", colon)) {
    const m = sticky(URL_CREDENTIALS, text, colon);
    if (m === null || !chosenPassword(m[2] ?? "")) return -1;
    return push(out, passwordStart(m, colon), (m[2] ?? "").length, 0.9);
  }
  // Walk back to the start of the user name, then try the pair shapes from there.
  const units = codeUnitsOf(text);
  let start = colon;
  while (start > 0 && isUserChar(units[start - 1] ?? -1) && colon - start < 64) start -= 1;
  if (start === colon) return -1;
  // `-u user:...` / `--user=user:...`: a blank, "=" or quote right before the user name, and a "-" a few characters back.
  const lead = units[start - 1] ?? -1;
  const curl = lead === 32 || lead === 61 || lead === 34 || lead === 39 ? CURL_FLAG_BEFORE.exec(text.slice(Math.max(0, start - 8), start)) : null;
  if (curl !== null) {
    const at = start - curl[0].length;
    const m = sticky(CURL_USER, text, at);
    if (m !== null && chosenPassword(m[2] ?? "")) return push(out, passwordStart(m, at), (m[2] ?? "").length, 0.85);
  }
  // Each expression only where it can match (most colons are "Tel: ...", times and ports): BARE_AUTHORITY's
  // password runs from this ":" to the first "@" after it (it holds none), 3-128 characters; PAIR's user
  // name starts with a letter and its password right after the ":".
  const toAtSign = atSign - colon - 1;
  let m = atSign !== -1 && toAtSign >= 3 && toAtSign <= 128 ? sticky(BARE_AUTHORITY, text, start) : null;
  if (m !== null && chosenPassword(m[2] ?? "")) return push(out, colon + 1, (m[2] ?? "").length, 0.85);
  if (!isAsciiLetter(units[start] ?? -1) || colon + 1 >= text.length || neverStartsPairPassword(units[colon + 1] ?? -1)) return -1;
  m = sticky(PAIR, text, start);
  if (m === null) return -1;
  const password = m[2] ?? "";
  if (!chosenPassword(password) || characterClasses(password) < 2 || !/[^A-Za-z]/.test(password)) return -1;
  if (!PAIR_CONTEXT.test(contextBefore(text, start))) return -1;
  return push(out, colon + 1, password.length, 0.8);
}

function push(out: Candidate[], start: number, length: number, score: number): number {
  out.push({ type: "API_KEY", start, end: start + length, score });
  return start + length;
}
