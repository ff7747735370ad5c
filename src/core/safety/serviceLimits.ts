/** What one Content Safety call accepts (Azure's documented input limits), in UTF-16 characters as a safe bound. */
export const MAX_ANALYZE_CHARS = 10_000;
export const MAX_SHIELD_PROMPT_CHARS = 10_000;
export const MAX_SHIELD_DOCUMENTS = 5;
export const MAX_SHIELD_DOCUMENT_CHARS = 10_000;

/** Keeps the head and tail of a text too long for one call (attacks tend to open or close a text). */
export function headAndTail(text: string, max: number): { readonly text: string; readonly truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return { text: `${text.slice(0, head)}\n${text.slice(text.length - tail)}`, truncated: true };
}

/**
 * Fits documents into one Prompt Shields call: at most five (the rest are joined into the fifth) and a
 * shared character budget, each cut to its share by head and tail.
 */
export function fitDocuments(documents: readonly string[]): { readonly documents: string[]; readonly truncated: boolean; readonly origin: number[][] } {
  const kept = documents.slice(0, MAX_SHIELD_DOCUMENTS - 1);
  const origin = kept.map((_, index) => [index]);
  if (documents.length >= MAX_SHIELD_DOCUMENTS) {
    kept.push(documents.slice(MAX_SHIELD_DOCUMENTS - 1).join("\n\n"));
    origin.push(documents.slice(MAX_SHIELD_DOCUMENTS - 1).map((_, index) => MAX_SHIELD_DOCUMENTS - 1 + index));
  }
  const total = kept.reduce((sum, document) => sum + document.length, 0);
  if (total <= MAX_SHIELD_DOCUMENT_CHARS) return { documents: kept, truncated: false, origin };
  const share = Math.floor(MAX_SHIELD_DOCUMENT_CHARS / kept.length);
  return { documents: kept.map((document) => headAndTail(document, share).text), truncated: true, origin };
}
