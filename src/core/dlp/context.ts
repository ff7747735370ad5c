import { type EntityType } from "./types.js";

/**
 * Context words, as Presidio's context enhancer uses them: a word near a candidate raises its
 * score. Only the text BEFORE a candidate counts, so a streamed text scores the same as a whole one.
 */
export const CONTEXT_WINDOW_CHARS = 48;
export const CONTEXT_BOOST = 0.35;
export const NEGATIVE_CONTEXT_PENALTY = 0.35;

const positive: Record<EntityType, RegExp> = {
  CREDIT_CARD:
    /(?:^|[^\p{L}])(?:cards?|credit|debit|visa|master ?card|amex|american express|discover|jcb|diners|unionpay|maestro|ccn?|pan|kreditkarte|karte|karten(?:nummer)?|carte|cb|tarjeta|cart[aã]o|carta|kaart|payment|pay with|charge)(?:$|[^\p{L}])/u,
  US_SSN: /(?:^|[^\p{L}])(?:ssn|ss#|social security|soc\.? sec|taxpayer|tax id|tin|seguro social|s[eé]curit[eé] sociale)(?:$|[^\p{L}])/u,
  IBAN_CODE: /(?:^|[^\p{L}])(?:iban|bank|account|acct|konto|bankverbindung|compte|rib|cuenta|conta|conto|banca|bancaria|bonifico|rekening|rekeningnummer|overschrijving|transfer|wire|sepa|[uü]berweisung|virement|transferencia|bic|swift)(?:$|[^\p{L}])/u,
  EMAIL_ADDRESS: /(?:^|[^\p{L}])(?:e-?mail|mail|courriel|correo|contact|adres|indirizzo|posta|kontakt)(?:$|[^\p{L}])/u,
  PHONE_NUMBER:
    /(?:^|[^\p{L}])(?:phone|tel|telephone|mobile|mob|cell|call|fax|sms|text me|whatsapp|signal|contact|reach|dial|hotline|telefon|telefonnummer|rufnummer|handy|mobil|mobilnummer|anrufen|erreichbar|t[eé]l[eé]phone|t[eé]l|portable|joindre|appeler|num[eé]ro|tel[eé]fono|tlf|m[oó]vil|llamar|celular|telefoon|telefoonnummer|mobiel|gsm|bellen|telefonico|cellulare|chiamare|telem[oó]vel|telefone|numer|puhelin|telefonu)(?:$|[^\p{L}])/u,
  IP_ADDRESS: /(?:^|[^\p{L}])(?:ip|ipv4|ipv6|address|addr|host|server|client|gateway|subnet|cidr|dns|ping|ssh|src|dst|from|connect(?:ed|ion)?|adresse|direcci[oó]n)(?:$|[^\p{L}])/u,
  API_KEY: /(?:^|[^\p{L}])(?:key|secret|token|password|credential|api|auth|bearer|accountkey|storage|signature)(?:$|[^\p{L}])/u,
};

/** Words that say "this is an identifier, not personal data". Applied only when no positive word is near. */
const negative: Partial<Record<EntityType, RegExp>> = {
  CREDIT_CARD: /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|shipment|parcel|isbn|imei|po|commande|bestellung|pedido|sendung)(?:$|[^\p{L}])|#\s*$/u,
  US_SSN: /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|part|model|zip)(?:$|[^\p{L}])|#\s*$/u,
  // Only right before the candidate ("Invoice no. 0301234567"), so a job title in a signature ("Senior
  // Account Manager" on the line above) does not suppress the number beside it.
  PHONE_NUMBER:
    /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|build|version|isbn|imei|account|acct|transaction|txn|po|shipment|parcel|timestamp|epoch|batch|lot|item|article|commande|facture|bestellung|bestellnummer|rechnung|rechnungsnummer|auftrag|auftragsnummer|kundennummer|charge|sendung|pedido|factura|lote|albar[aá]n|bestelling|bestelnummer|factuur|ordine|fattura|lotto|vorgang|dossier|contrat|vertrag|contract)(?:[\s.:#-]*(?:no|nr|n°|nº|num|number|nummer|num[eé]ro|n[uú]mero|id|#))?[\s.:#-]*$|#\s*$/u,
  IP_ADDRESS:
    /(?:^|[^\p{L}])(?:version|ver|v|build|release|firmware|oid|section|sect|chapter|annex|appendix|article|art|clause|paragraph|para|par|table|figure|fig|step|item|rule|abschnitt|kapitel|anhang|anlage|ziffer|punkt|tabelle|abbildung|annexe|chapitre|paragraphe|tableau|anexo|apartado|cap[ií]tulo|art[ií]culo|tabla|bijlage|hoofdstuk|artikel|lid|allegato|capitolo|articolo|punto|sezione|tabella|§)\.?\s*$|§\s*$/u,
};

const ADJACENT_NEGATIVE: ReadonlySet<EntityType> = new Set(["PHONE_NUMBER", "IP_ADDRESS"]);

export function contextBefore(text: string, start: number): string {
  return text.slice(Math.max(0, start - CONTEXT_WINDOW_CHARS), start).toLowerCase();
}

/** What the words just before the candidate add to its score: +0.35, -0.35 or 0. */
export function contextDelta(type: EntityType, text: string, start: number): number {
  const before = contextBefore(text, start);
  const neg = negative[type];
  // An identifier word right before the candidate outweighs a phone or address word further back.
  if (ADJACENT_NEGATIVE.has(type) && neg !== undefined && neg.test(before)) return -NEGATIVE_CONTEXT_PENALTY;
  if (positive[type].test(before)) return CONTEXT_BOOST;
  if (neg !== undefined && neg.test(before)) return -NEGATIVE_CONTEXT_PENALTY;
  return 0;
}

/** Adjusts a base score by the words just before the candidate. */
export function scoreWithContext(type: EntityType, base: number, text: string, start: number): number {
  return Math.max(0, Math.min(1, base + contextDelta(type, text, start)));
}

export function hasPositiveContext(type: EntityType, text: string, start: number): boolean {
  return positive[type].test(contextBefore(text, start));
}
