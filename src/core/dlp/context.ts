import { codeUnitsOf } from "./codeUnits.js";
import { type EntityType } from "./types.js";

/**
 * Context words, as Presidio's context enhancer uses them: a word near a candidate raises its
 * score. Only the text BEFORE a candidate counts, so a streamed text scores the same as a whole one.
 * The window is cut into words once and each word looked up in a set (a regular expression over the
 * window per candidate cost more than everything else on text dense with values).
 */
export const CONTEXT_WINDOW_CHARS = 48;
export const CONTEXT_BOOST = 0.35;
export const NEGATIVE_CONTEXT_PENALTY = 0.35;

interface WordList {
  /** Whole words and two-word phrases ("social security"). */
  readonly words: ReadonlySet<string>;
  /** Word beginnings ("telef" for Telefon, Telefonnummer, teléfono). */
  readonly stems: readonly string[];
}

const list = (words: string, stems = ""): WordList => ({ words: new Set(words.split("|")), stems: stems === "" ? [] : stems.split("|") });

const positive: Record<EntityType, WordList> = {
  CREDIT_CARD: list(
    "card|cards|credit|debit|visa|mastercard|master card|amex|american express|discover|jcb|diners|unionpay|maestro|cc|ccn|pan|karte|carte|cb|tarjeta|cartão|carta|kaart|payment|pay with|charge|creditcard|betaalkaart",
    "kreditkart|kartennummer|creditkaart|bankkaart",
  ),
  US_SSN: list("ssn|ss|social security|soc sec|taxpayer|tax id|tin|seguro social|sécurité sociale"),
  IBAN_CODE: list(
    "iban|bank|account|acct|konto|bankverbindung|compte|rib|cuenta|conta|conto|banca|bancaria|bonifico|rekening|overschrijving|transfer|wire|sepa|überweisung|ueberweisung|virement|transferencia|bic|swift",
    "kontonummer|rekeningnummer|bankverbind",
  ),
  EMAIL_ADDRESS: list("email|mail|courriel|correo|contact|adres|indirizzo|posta|kontakt|mailto"),
  PHONE_NUMBER: list(
    "phone|tel|telephone|mobile|mob|cell|call|fax|sms|text me|whatsapp|signal|contact|reach|dial|hotline|handy|mobil|anrufen|erreichbar|tél|portable|joindre|appeler|numéro|tlf|móvil|movil|llamar|celular|mobiel|gsm|bellen|cellulare|chiamare|telemóvel|numer|puhelin|rufnummer|durchwahl|rufen|bel|ring|joignable|llámame|llamame|chiamami|chiamare|contattami",
    "telef|teleph|téléph|mobilnummer|handynummer|telefoon|telefono|teléfono",
  ),
  IP_ADDRESS: list("ip|ipv4|ipv6|address|addr|host|server|client|gateway|subnet|cidr|dns|ping|ssh|src|dst|from|connect|connected|connection|adresse|dirección|direccion|indirizzo|adres"),
  API_KEY: list("key|secret|token|password|credential|credentials|api|auth|bearer|accountkey|storage|signature|schlüssel|clé|clave|sleutel|chiave"),
};

/** Words that say "this is an identifier, not personal data". Anywhere in the window, only when no positive word is near. */
const negative: Partial<Record<EntityType, WordList>> = {
  CREDIT_CARD: list("order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|shipment|parcel|isbn|imei|po|commande|bestellung|pedido|sendung"),
  US_SSN: list("order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|part|model|zip"),
};

/**
 * Identifier words that count only RIGHT before the candidate ("Invoice no. 0301234567", "Annex 2.1.1.4"),
 * so a job title in a signature ("Senior Account Manager" on the line above) does not suppress the
 * number beside it; and they outweigh a phone or address word further back.
 */
const adjacentNegative: Partial<Record<EntityType, WordList>> = {
  PHONE_NUMBER: list(
    "order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|build|version|isbn|imei|account|acct|transaction|txn|po|shipment|parcel|timestamp|epoch|batch|lot|item|article|commande|facture|bestellung|bestellnummer|rechnung|rechnungsnummer|auftrag|auftragsnummer|kundennummer|charge|sendung|pedido|factura|lote|albarán|albaran|bestelling|bestelnummer|factuur|ordine|fattura|lotto|vorgang|dossier|contrat|vertrag|contract|iban",
  ),
  IP_ADDRESS: list(
    "version|ver|v|build|release|firmware|oid|section|sect|chapter|annex|appendix|article|art|clause|paragraph|para|par|table|figure|fig|step|item|rule|abschnitt|kapitel|anhang|anlage|ziffer|punkt|tabelle|abbildung|annexe|chapitre|paragraphe|tableau|anexo|apartado|capítulo|capitulo|artículo|articulo|tabla|bijlage|hoofdstuk|artikel|lid|allegato|capitolo|articolo|punto|sezione|tabella",
  ),
};
/** "no.", "Nr.", "n°", "#" between the identifier word and the number. */
const NUMBER_WORDS: ReadonlySet<string> = new Set(["no", "nr", "n", "nº", "num", "number", "nummer", "numéro", "numero", "número", "id"]);

const TYPES = Object.keys(positive) as EntityType[];
/** Per type index: 1 when the type has adjacent-only identifier words, or plain negative words. */
const HAS_ADJACENT = Uint8Array.from(TYPES, (type) => (adjacentNegative[type] === undefined ? 0 : 1));
const HAS_NEGATIVE = Uint8Array.from(TYPES, (type) => (negative[type] === undefined ? 0 : 1));

/**
 * A type's index by comparing with the seven names: reading `record[type]` with a type not known in
 * advance is a generic keyed look-up, and the three of them per call were a tenth of `contextDelta`.
 */
function typeIndex(type: EntityType): number {
  let index = 0;
  while (index < TYPES.length - 1 && TYPES[index] !== type) index += 1;
  return index;
}
const POSITIVE = (i: number): number => 1 << i;
const NEGATIVE = (i: number): number => 1 << (8 + i);
const ADJACENT = (i: number): number => 1 << (16 + i);
const NUMBER_WORD = 1 << 24;
const PHRASE_START = 1 << 25;
const PHRASES: ReadonlySet<string> = new Set(
  [...Object.values(positive), ...Object.values(negative), ...Object.values(adjacentNegative)].flatMap((l) => [...l.words].filter((w) => w.includes(" "))),
);
const PHRASE_FIRST_WORDS: ReadonlySet<string> = new Set([...PHRASES].map((p) => p.slice(0, p.indexOf(" "))));

function lookUp(wordList: WordList | undefined, word: string): boolean {
  return wordList !== undefined && (wordList.words.has(word) || wordList.stems.some((stem) => word.startsWith(stem)));
}

/** Every context role of one lower-case word (or two-word phrase), as bits. */
function rolesOf(lower: string): number {
  let roles = 0;
  TYPES.forEach((type, i) => {
    if (lookUp(positive[type], lower)) roles |= POSITIVE(i);
    if (lookUp(negative[type], lower)) roles |= NEGATIVE(i);
    if (adjacentNegative[type]?.words.has(lower) === true) roles |= ADJACENT(i);
  });
  if (NUMBER_WORDS.has(lower)) roles |= NUMBER_WORD;
  if (PHRASE_FIRST_WORDS.has(lower)) roles |= PHRASE_START;
  return roles;
}

/** 30 bits: small integers stay unboxed (a full 32-bit hash would be a heap number on every look-up). */
const HASH_MASK = 0x3fffffff;

function lowerCode(code: number): number {
  return (code >= 65 && code <= 90) || (code >= 0xc0 && code <= 0xde && code !== 0xd7) ? code + 32 : code;
}

function isLetter(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 0xc0 && code <= 0xff && code !== 0xd7 && code !== 0xf7) || code === 0xba;
}

/** Per one-byte code: its lower case when it is a letter, else 0 (the scan view is one-byte; one read instead of a chain of comparisons). */
const LETTER_LOWER = Uint8Array.from({ length: 256 }, (_, code) => (isLetter(code) ? lowerCode(code) : 0));

/** The lower-cased letter at units[i] (`codeUnitsOf` the text), or 0 when it is not a letter. */
function letterAt(units: Uint16Array, i: number): number {
  const code = units[i] ?? 256;
  return code < 256 ? (LETTER_LOWER[code] ?? 0) : 0;
}

/** Hash of a lower-cased word, as `wordRoles` computes it while reading the text. */
function hashOf(lower: string): number {
  let hash = 0;
  for (let k = 0; k < lower.length; k += 1) hash = (Math.imul(hash, 31) + lower.charCodeAt(k)) & HASH_MASK;
  return hash;
}

/**
 * Lower-case words by their hash, in typed arrays (open addressing): a look-up of a word read in place
 * is a few array reads, where a Map of numbers cost more than the rest of the context walk.
 */
class WordTable {
  /** hash + 1 per slot (0: empty). */
  readonly #keys: Int32Array;
  readonly #entry: Int32Array;
  readonly #mask: number;
  readonly words: readonly string[];
  readonly roles: Int32Array;

  constructor(words: Iterable<string>, rolesFor: (lower: string) => number) {
    this.words = [...new Set(words)];
    this.roles = Int32Array.from(this.words, rolesFor);
    let size = 16;
    while (size < this.words.length * 4) size *= 2;
    this.#keys = new Int32Array(size);
    this.#entry = new Int32Array(size);
    this.#mask = size - 1;
    this.words.forEach((word, index) => {
      const hash = hashOf(word);
      let slot = hash & this.#mask;
      while ((this.#keys[slot] ?? 0) !== 0) slot = (slot + 1) & this.#mask;
      this.#keys[slot] = hash + 1;
      this.#entry[slot] = index;
    });
  }

  /** Roles of the listed word of `length` characters with this hash spelled at text[from...], or 0. */
  find(hash: number, units: Uint16Array, from: number, length: number): number {
    const keys = this.#keys;
    let slot = hash & this.#mask;
    for (let key = keys[slot] ?? 0; key !== 0; key = keys[slot] ?? 0) {
      if (key === hash + 1) {
        const index = this.#entry[slot] ?? 0;
        const word = this.words[index] ?? "";
        if (word.length === length && spells(units, from, word)) return this.roles[index] ?? 0;
      }
      slot = (slot + 1) & this.#mask;
    }
    return 0;
  }
}

const allLists = [...Object.values(positive), ...Object.values(negative), ...Object.values(adjacentNegative)];
/** Every listed single word with all its roles (stems included); a word not listed can only have a stem's roles. */
const KNOWN_WORDS = new WordTable([...allLists.flatMap((l) => [...l.words].filter((w) => !w.includes(" "))), ...NUMBER_WORDS, ...PHRASE_FIRST_WORDS], rolesOf);
const KNOWN_STEMS = new WordTable(allLists.flatMap((l) => l.stems), rolesOf);
const STEM_LENGTHS = new Set(allLists.flatMap((l) => l.stems.map((stem) => stem.length)));
const LONGEST_STEM = Math.max(0, ...STEM_LENGTHS);
const SHORTEST_STEM = Math.min(...STEM_LENGTHS);
const IS_STEM_LENGTH = Uint8Array.from({ length: LONGEST_STEM + 1 }, (_, length) => (STEM_LENGTHS.has(length) ? 1 : 0));
/** 1 at (first << 8 | second) for the first two letters of every stem: most words start like none, and skip the prefix hashes (a fifth of the walk). */
const STEM_START = new Uint8Array(256 * 256);
for (const stem of allLists.flatMap((l) => l.stems)) STEM_START[(stem.charCodeAt(0) << 8) | stem.charCodeAt(1)] = 1;

function spells(units: Uint16Array, from: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k += 1) if (letterAt(units, from + k) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * Roles of the word text[from, to), read in place: its hash (of the lower-cased letters, computed by the
 * caller while finding the word) looked up in tables built once; stems from the prefix hashes of the
 * word's first letters, only as far as the longest stem (slicing and lower-casing every word of every
 * window cost more than the detectors).
 */
function wordRoles(units: Uint16Array, from: number, to: number, hash: number): number {
  let stemRoles = 0;
  if (to - from >= SHORTEST_STEM && STEM_START[(letterAt(units, from) << 8) | letterAt(units, from + 1)] === 1) {
    let prefix = 0;
    const last = Math.min(to, from + LONGEST_STEM);
    for (let k = from; k < last; k += 1) {
      prefix = (Math.imul(prefix, 31) + letterAt(units, k)) & HASH_MASK;
      const length = k - from + 1;
      if (IS_STEM_LENGTH[length] === 1) stemRoles |= KNOWN_STEMS.find(prefix, units, from, length);
    }
  }
  return KNOWN_WORDS.find(hash, units, from, to - from) || stemRoles;
}

/** "#", or only separators (" no. ", ": ", " - ") between the last word and the candidate. */
function tailKind(units: Uint16Array, from: number, to: number): "hash" | "separators" | "other" {
  let kind: "hash" | "separators" | "other" = "separators";
  for (let i = from; i < to; i += 1) {
    const code = units[i] ?? 0;
    if (code === 35) kind = "hash";
    else if (code === 32 || code === 9 || code === 10 || code === 13) continue;
    else if (code !== 46 && code !== 58 && code !== 45 && code !== 47 && code !== 0xb0) return kind === "hash" ? "hash" : "other";
    else if (kind === "hash") return "other";
  }
  return kind;
}

/**
 * Walks the window backwards word by word: the word right before the candidate decides adjacency
 * ("Invoice no. 0301..."), any word in the window can be a positive or plain negative context word.
 */
export function contextDelta(type: EntityType, text: string, start: number): number {
  const units = codeUnitsOf(text);
  const index = typeIndex(type);
  const hasAdjacent = HAS_ADJACENT[index] === 1;
  const from = Math.max(0, start - CONTEXT_WINDOW_CHARS);
  let i = start;
  let sawPositive = false;
  let sawNegative = false;
  let wordsSeen = 0;
  let lastWordEnd = -1;
  let followingStart = -1;
  let followingEnd = -1;
  let followingRoles = 0;
  let adjacentCandidate = false;
  let hashTail = false;
  while (i > from) {
    if (letterAt(units, i - 1) === 0) {
      i -= 1;
      continue;
    }
    const end = i;
    // The word's hash, built from its last letter back: sum of letter * 31^(letters after it), as `hashOf` computes it forwards.
    let hash = 0;
    let power = 1;
    for (let letter = letterAt(units, i - 1); i > from && letter !== 0; letter = letterAt(units, i - 1)) {
      hash = (hash + Math.imul(letter, power)) & HASH_MASK;
      power = Math.imul(power, 31) & HASH_MASK;
      i -= 1;
    }
    // A word cut by the window's edge is not a context word.
    if (i === from && from > 0 && letterAt(units, from - 1) !== 0) break;
    let roles = wordRoles(units, i, end, hash);
    if ((roles & PHRASE_START) !== 0 && followingStart !== -1) {
      const phrase = `${text.slice(i, end).toLowerCase()} ${text.slice(followingStart, followingEnd).toLowerCase()}`;
      if (PHRASES.has(phrase)) roles |= rolesOf(phrase);
    }
    if (wordsSeen === 0) {
      lastWordEnd = end;
      const tail = tailKind(units, end, start);
      hashTail = tail === "hash";
      adjacentCandidate = tail === "separators";
      if (adjacentCandidate && (roles & ADJACENT(index)) !== 0) return -NEGATIVE_CONTEXT_PENALTY;
    } else if (wordsSeen === 1 && adjacentCandidate && (followingRoles & NUMBER_WORD) !== 0 && (roles & ADJACENT(index)) !== 0) {
      return -NEGATIVE_CONTEXT_PENALTY;
    }
    if ((roles & POSITIVE(index)) !== 0) sawPositive = true;
    if ((roles & NEGATIVE(index)) !== 0) sawNegative = true;
    followingStart = i;
    followingEnd = end;
    followingRoles = roles;
    wordsSeen += 1;
    // A positive word settles it, past the two words that decide adjacency for a type with adjacent identifier
    // words (for the others at once: "Correo: ana@..."): the rest of the window cannot change the result.
    if (sawPositive && (!hasAdjacent || (wordsSeen >= 2 && !hashTail))) return CONTEXT_BOOST;
  }
  if (lastWordEnd === -1) hashTail = tailKind(units, from, start) === "hash";
  if (hashTail && hasAdjacent) return -NEGATIVE_CONTEXT_PENALTY;
  if (sawPositive) return CONTEXT_BOOST;
  if (sawNegative || (hashTail && HAS_NEGATIVE[index] === 1)) return -NEGATIVE_CONTEXT_PENALTY;
  return 0;
}

/** Adjusts a base score by the words just before the candidate. */
export function scoreWithContext(type: EntityType, base: number, text: string, start: number): number {
  return Math.max(0, Math.min(1, base + contextDelta(type, text, start)));
}

export function hasPositiveContext(type: EntityType, text: string, start: number): boolean {
  return start > 0 && contextDelta(type, text, start) > 0;
}

export function contextBefore(text: string, start: number): string {
  return text.slice(Math.max(0, start - CONTEXT_WINDOW_CHARS), start).toLowerCase();
}
