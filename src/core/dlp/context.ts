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
  IBAN_CODE: /(?:^|[^\p{L}])(?:iban|bank|account|acct|konto|bankverbindung|compte|rib|cuenta|conta|transfer|wire|sepa|[uü]berweisung|virement|bic|swift)(?:$|[^\p{L}])/u,
  EMAIL_ADDRESS: /(?:^|[^\p{L}])(?:e-?mail|mail|courriel|correo|contact)(?:$|[^\p{L}])/u,
  PHONE_NUMBER:
    /(?:^|[^\p{L}])(?:phone|tel|telephone|mobile|cell|call|fax|sms|text me|whatsapp|contact|reach|dial|hotline|telefon|telefonnummer|handy|anrufen|t[eé]l[eé]phone|portable|num[eé]ro|tel[eé]fono|m[oó]vil|llamar|celular)(?:$|[^\p{L}])/u,
  IP_ADDRESS: /(?:^|[^\p{L}])(?:ip|ipv4|ipv6|address|addr|host|server|client|gateway|subnet|cidr|dns|ping|ssh|src|dst|from|connect(?:ed|ion)?|adresse|direcci[oó]n)(?:$|[^\p{L}])/u,
  API_KEY: /(?:^|[^\p{L}])(?:key|secret|token|password|credential|api|auth|bearer|accountkey|storage|signature)(?:$|[^\p{L}])/u,
};

/** Words that say "this is an identifier, not personal data". Applied only when no positive word is near. */
const negative: Partial<Record<EntityType, RegExp>> = {
  CREDIT_CARD: /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|shipment|parcel|isbn|imei|po|commande|bestellung|pedido|sendung)(?:$|[^\p{L}])|#\s*$/u,
  US_SSN: /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|part|model|zip)(?:$|[^\p{L}])|#\s*$/u,
  PHONE_NUMBER:
    /(?:^|[^\p{L}])(?:order|tracking|invoice|ref|reference|sku|serial|ticket|case|id|build|version|isbn|imei|account|transaction|txn|po|shipment|parcel|timestamp|epoch|commande|bestellung|pedido)(?:$|[^\p{L}])|#\s*$/u,
  IP_ADDRESS: /(?:^|[^\p{L}])(?:version|ver|v|build|release|firmware|oid|section|chapter|§)\s*$/u,
};

export function contextBefore(text: string, start: number): string {
  return text.slice(Math.max(0, start - CONTEXT_WINDOW_CHARS), start).toLowerCase();
}

/** Adjusts a base score by the words just before the candidate. */
export function scoreWithContext(type: EntityType, base: number, text: string, start: number): number {
  const before = contextBefore(text, start);
  if (positive[type].test(before)) return Math.min(1, base + CONTEXT_BOOST);
  const neg = negative[type];
  if (neg !== undefined && neg.test(before)) return Math.max(0, base - NEGATIVE_CONTEXT_PENALTY);
  return base;
}

export function hasPositiveContext(type: EntityType, text: string, start: number): boolean {
  return positive[type].test(contextBefore(text, start));
}
