import { type Candidate } from "../types.js";
import { characterClasses, isPlaceholder } from "./placeholder.js";

/**
 * Password labels in the languages of Palisade's users, as people write them in tickets and e-mails:
 * English, German, French, Spanish, Dutch, Italian (and Portuguese). The stems are found first, by the scan's
 * shared keyword pass, then the full label with up to four qualifier words ("temporäres", "du compte", "for the
 * VPN") and a separator (":", "=", "is", "ist", "est", "es", "è", "lautet", "luidt").
 */
// Lower, capitalised and upper case spelled out: V8 keeps its first-character quick check, which the
// case-insensitive flag (or lower-casing every text) would cost.
export const PASSWORD_LABEL_STEMS: readonly string[] = ["pass", "pwd", "kennw", "contrase", "clave", "wachtw", "parola", "senha", "mdp"].flatMap((s) => [
  s,
  s.charAt(0).toUpperCase() + s.slice(1),
  s.toUpperCase(),
]);
const LATIN_LETTER = "A-Za-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u00FF";
const LABEL = new RegExp(
  `(?<![${LATIN_LETTER}])(?:pass(?:word|wd|phrase|code)?|passwort|kennwort|pwd|mot de passe|mdp|contrase(?:ñ|n)a|clave(?: de acceso)?|wachtwoord|parola d'ordine|parola chiave|senha)` +
    // qualifier words, each after a blank, never across a line
    `(?:[ \\t]+[${LATIN_LETTER}'()]{1,16}){0,4}?` +
    `[ \\t]*(?::|=|-|[ \\t](?:is|ist|est|es|è|e|lautet|luidt|is now|ist jetzt|vale)[ \\t])[ \\t]*` +
    `(["'«“\`]?)([^\\s"'»”\`]{6,128})`,
  "iy",
);
const TRAILING_PUNCTUATION = /[.,;:)\]]+$/;
// What follows a label when no password does ("Password: required", "Passwort: vergessen").
const NOT_A_PASSWORD =
  /^(?:required|optional|incorrect|invalid|expired|forgotten|vergessen|abgelaufen|falsch|oubli[ée]e?|expir[ée]|incorrecte?|olvidad[ao]|caducad[ao]|vergeten|verlopen|scadut[ao]|dimenticat[ao]|errat[ao]|reset|redacted|hidden|unchanged|sent|see|siehe|voir|ver|zie|vedi)$/i;

/** First letters of the labels (p, k, m, c, w, s in either case); the label's look-behind wants no Latin letter before it. */
const LABEL_INITIAL = /[pkmcwsPKMCWS]/;
const LATIN_LETTER_BEFORE = new RegExp(`[${LATIN_LETTER}]`);

function mayStartLabel(text: string, start: number): boolean {
  return LABEL_INITIAL.test(text.charAt(start)) && (start === 0 || !LATIN_LETTER_BEFORE.test(text.charAt(start - 1)));
}

function passwordLike(value: string): boolean {
  if (value.length < 6 || NOT_A_PASSWORD.test(value) || isPlaceholder(value)) return false;
  if (/^(?:<.*>|\$\{?.*|\{\{.*|%.*%|\*+|•+)$/.test(value)) return false;
  // A plain word is a word ("Password: Welcome" is not reported); chosen passwords mix in digits or symbols.
  return characterClasses(value) >= 2 && /[^A-Za-z\u00C0-\u00FF]/.test(value);
}

/** `stems`: ascending positions of PASSWORD_LABEL_STEMS in the text (the scan's shared keyword pass). */
export function detectLabelledPasswords(text: string, stems: readonly number[], out: Candidate[]): void {
  let covered = 0;
  for (const stem of stems) {
    if (stem < covered) continue;
    // The label may start a few characters before the stem ("mot de passe", "kennwort" starts at the stem).
    const from = Math.max(covered, stem - 7);
    for (let start = stem; start >= from; start -= 1) {
      // Only where a label can begin (its first letter, no letter before): the expression fails at once
      // elsewhere, but each call costs more than this test.
      if (start !== stem && !mayStartLabel(text, start)) continue;
      LABEL.lastIndex = start;
      const m = LABEL.exec(text);
      if (m === null) continue;
      let value = m[2] ?? "";
      if ((m[1] ?? "") === "") value = value.replace(TRAILING_PUNCTUATION, "");
      if (!passwordLike(value)) break;
      const valueStart = start + m[0].length - (m[2] ?? "").length;
      out.push({ type: "API_KEY", start: valueStart, end: valueStart + value.length, score: 0.85 });
      covered = valueStart + value.length;
      break;
    }
  }
}
