import examples from "libphonenumber-js/examples.mobile.json";
import { SECRET_RULES } from "../src/core/dlp/secrets/secretRules.js";

/** A small deterministic generator, so every run scans the same documents. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function luhnCheckDigit(partial: string): string {
  let sum = 0;
  for (let i = 0; i < partial.length; i += 1) {
    let d = partial.charCodeAt(partial.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function ibanCheckDigits(country: string, bban: string): string {
  const numeric = (bban + country + "00").replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let remainder = 0;
  for (const ch of numeric) remainder = (remainder * 10 + Number(ch)) % 97;
  return String(98 - remainder).padStart(2, "0");
}

const EU_MOBILE = ["DE", "FR", "IT", "ES", "NL", "PL", "AT", "BE", "PT", "SE", "DK", "FI", "IE", "CZ", "GR", "HU", "RO", "BG", "HR", "SK", "SI", "LT", "LV", "EE", "LU", "MT", "CY"] as const;
const CALLING: Record<string, string> = { DE: "49", FR: "33", IT: "39", ES: "34", NL: "31", PL: "48", AT: "43", BE: "32", PT: "351", SE: "46", DK: "45", FI: "358", IE: "353", CZ: "420", GR: "30", HU: "36", RO: "40", BG: "359", HR: "385", SK: "421", SI: "386", LT: "370", LV: "371", EE: "372", LU: "352", MT: "356", CY: "357" };

/**
 * Text where every line carries at least one finding, in the six languages of the corpus: signatures
 * with phones of every EU country, CSV rows with cards and amounts, IBANs, e-mails, log lines with IPs,
 * .env lines with vendor keys, passwords after labels. Values are generated (valid checksums), not
 * copied from the corpus, so no validator result can be cached across lines.
 */
export function denseDocument(sizeInChars: number, seed: number): string {
  const random = generator(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join("");
  const alnum = (n: number): string => Array.from({ length: n }, () => "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789".charAt(Math.floor(random() * 56))).join("");
  const phone = (): string => {
    const region = pick(EU_MOBILE);
    const example = (examples as Record<string, string>)[region] ?? "612345678";
    const national = example.slice(0, -2) + digits(2);
    return `+${CALLING[region] ?? "49"} ${national.slice(0, 3)} ${national.slice(3)}`;
  };
  const card = (): string => {
    const partial = `4${digits(14)}`;
    const full = partial + luhnCheckDigit(partial);
    return full.replace(/(\d{4})(?=\d)/g, "$1 ");
  };
  const iban = (): string => {
    const bban = digits(18);
    return `DE${ibanCheckDigits("DE", bban)}${bban}`.replace(/(.{4})(?=.)/g, "$1 ");
  };
  const names = ["Anna Weber", "Luc Martin", "Sofia Rossi", "Javier García", "Daan de Vries", "Emma Johnson"];
  const prefixed = SECRET_RULES.flatMap((rule) => rule.samples.found.map((s) => s.secret)).filter((s) => s.length < 120);
  const templates: readonly (() => string)[] = [
    () => `${pick(names)} | Senior Account Manager | Tel. ${phone()}`,
    () => `Mobil: ${phone()} (erreichbar Mo-Fr)`,
    () => `${Math.floor(random() * 9000) + 1000},${pick(names)},${card()},${(random() * 500).toFixed(2)}`,
    () => `Bitte überweisen Sie den Betrag auf IBAN ${iban()}.`,
    () => `Mon numéro de carte est ${card()}, merci de débiter 49,90 €.`,
    () => `Correo: ${pick(["ana", "luis", "marta"])}.${digits(3)}@example.es, teléfono ${phone()}`,
    () => `2024-05-0${Math.floor(random() * 9) + 1}T10:${digits(2)}:00Z WARN login failed from 198.51.100.${Math.floor(random() * 254) + 1} user=${pick(["ops", "admin"])}@example.com`,
    () => `export API_TOKEN=${pick(prefixed)}`,
    () => `Het wachtwoord is Fiets!${digits(4)} en mijn nummer is ${phone()}`,
    () => `La password temporanea è Roma${digits(4)}?x, email ${pick(["giulia", "marco"])}${digits(2)}@example.it`,
    () => `db_password          = "${alnum(12)}#${digits(2)}"`,
    () => `postgres://app:${alnum(10)}${digits(2)}@db${digits(2)}.example.com:5432/orders`,
  ];
  const lines: string[] = [];
  let size = 0;
  while (size < sizeInChars) {
    const line = pick(templates)();
    lines.push(line);
    size += line.length + 1;
  }
  return JSON.parse(JSON.stringify(lines.join("\n").slice(0, sizeInChars))) as string;
}

/** Ordinary prose: paragraphs in the six languages with the odd date, amount and version, no sensitive values. */
export function proseDocument(sizeInChars: number, seed: number): string {
  const random = generator(seed);
  const sentences = [
    "The quarterly review covers revenue, churn and the roadmap for the next two releases, and the team agreed to revisit pricing in the spring.",
    "Please summarise the attached meeting notes and list the action items by owner, with a short rationale for each decision that was taken.",
    "Das Projekt wurde am 15. Januar gestartet; das Budget liegt bei 120.000 Euro und die Laufzeit beträgt achtzehn Monate.",
    "Nous avons besoin d'un résumé clair des conclusions de l'atelier, avec les risques principaux et les prochaines étapes proposées.",
    "El equipo de soporte ha resuelto la mayoría de las incidencias abiertas y propone cerrar el proyecto a finales de mes.",
    "De klant vraagt om een overzicht van de openstaande punten en een voorstel voor de planning van de volgende fase.",
    "Il rapporto mensile mostra un aumento dei costi operativi del 4% rispetto al trimestre precedente, soprattutto nella logistica.",
    "Latency rose slightly after the deploy of version 2.4 on 14 March, and the on-call engineer rolled the change back within the hour.",
    "Write a friendly reply that thanks the customer for their patience and explains that the refund will arrive within five working days.",
  ];
  const parts: string[] = [];
  let size = 0;
  while (size < sizeInChars) {
    const sentence = sentences[Math.floor(random() * sentences.length)] ?? "";
    parts.push(sentence);
    size += sentence.length + 1;
  }
  return JSON.parse(JSON.stringify(parts.join(" ").slice(0, sizeInChars))) as string;
}
