import { type Finding, type ScanOptions, scan } from "../../dlp/index.js";
import { type ContentField } from "./Operation.js";

/** How much of each side of a seam is scanned: room for an IBAN or a card with its context word, or a long token. */
const WINDOW = 128;
/** A character a value can continue with. */
const CONTINUES = /[\p{L}\p{Nd}@＠._+-]/u;
/** A digit or an at sign: every value worth the scan has one next to the seam on one side at least. */
const VALUE_MARK = /[\p{Nd}@＠]/u;
const LAST_WORD = /\S*$/u;
const FIRST_WORD = /^\S*/u;
/**
 * How the model may see two texts joined: directly (content parts) or with a break (messages). A
 * space joins the groups of a card split between them; nothing joins a value cut mid-group or a token.
 */
const SEPARATORS = ["", " "];

/**
 * Findings of values split over two consecutive text fields (two content parts of a message, two
 * messages: the model reads them as one text and can join the halves), as one finding per side:
 * the end of the first field and the start of the second, each widened over any finding it overlaps
 * so the redaction removes both whole. Keyed by field index; `findingsOf` gives each field's own.
 */
export function seamFindings(fields: readonly ContentField[], options: ScanOptions, findingsOf: (field: ContentField) => readonly Finding[]): { readonly byField: Map<number, Finding[]>; readonly found: Finding[] } {
  const byField = new Map<number, Finding[]>();
  const found: Finding[] = [];
  if (fields.length < 2) return { byField, found };
  let previous = -1;
  fields.forEach((field, index) => {
    if (field.kind !== "text" || field.readOnly === true) return;
    const before = previous;
    previous = index;
    const first = before < 0 ? undefined : fields[before];
    if (first === undefined || !mayContinue(first.text, field.text)) return;
    const tail = first.text.slice(-WINDOW);
    const head = field.text.slice(0, WINDOW);
    for (const separator of SEPARATORS) {
      const offset = first.text.length - tail.length;
      const joinedAt = tail.length + separator.length;
      for (const finding of scan(tail + separator + head, options)) {
        if (finding.start >= tail.length || finding.end <= joinedAt) continue;
        const firstPart = { ...finding, start: offset + finding.start, end: first.text.length };
        const secondPart = { ...finding, start: 0, end: finding.end - joinedAt };
        // A value found whole on one side, with a neighbouring word glued to it by the join, is that side's own finding.
        if (covered(firstPart, findingsOf(first)) || covered(secondPart, findingsOf(field))) continue;
        push(byField, before, widen(firstPart, findingsOf(first)));
        push(byField, index, widen(secondPart, findingsOf(field)));
        found.push(finding);
        return;
      }
    }
  });
  return { byField, found };
}

/** A finding of the same type on that side covers the part. */
const covered = (part: Finding, own: readonly Finding[]): boolean => own.some((finding) => finding.type === part.type && finding.start <= part.start && finding.end >= part.end);

/**
 * Worth a scan: both sides end in a character a value continues with, and the word that ends the
 * first or starts the second holds a digit or an at sign (a split card, phone, IBAN or e-mail always
 * does; a sentence ending "EUR." before "Next question" does not, so a chat's turns cost nothing).
 */
function mayContinue(first: string, second: string): boolean {
  const end = first.trimEnd();
  const start = second.trimStart();
  const last = end.at(-1);
  const next = start[0];
  if (last === undefined || next === undefined || !CONTINUES.test(last) || !CONTINUES.test(next)) return false;
  return VALUE_MARK.test(LAST_WORD.exec(end.slice(-64))?.[0] ?? "") || VALUE_MARK.test(FIRST_WORD.exec(start.slice(0, 64))?.[0] ?? "");
}

/** The piece grown over every finding of the same field it overlaps (the redaction then takes them all at once). */
function widen(piece: Finding, own: readonly Finding[]): Finding {
  let { start, end } = piece;
  for (const finding of own) {
    if (finding.start < end && finding.end > start) {
      start = Math.min(start, finding.start);
      end = Math.max(end, finding.end);
    }
  }
  return { ...piece, start, end };
}

function push(map: Map<number, Finding[]>, index: number, finding: Finding): void {
  const list = map.get(index);
  if (list === undefined) map.set(index, [finding]);
  else list.push(finding);
}
