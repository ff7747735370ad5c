/**
 * What the Content Safety emulator "detects": fixed patterns for the classic attacks Azure's documentation
 * uses as examples, and directives a test writes into a text to get a chosen verdict. No model: see
 * docs/content-safety.md for what this does not emulate.
 */

/** `[[cs:attack]]`, `[[cs:hate=4,violence=6]]`, `[[cs:status=503]]`, `[[cs:latency=200]]` anywhere in a text. */
const DIRECTIVE = /\[\[cs:([^\]]*)\]\]/g;

export interface SafetyDirectives {
  readonly attack: boolean;
  readonly severities: Readonly<Record<string, number>>;
  readonly status: number | null;
  readonly latencyInMs: number;
}

const CATEGORY_KEYS: Readonly<Record<string, string>> = { hate: "Hate", sexual: "Sexual", violence: "Violence", selfharm: "SelfHarm", self_harm: "SelfHarm" };

export function directivesIn(text: string): SafetyDirectives {
  let attack = false;
  const severities: Record<string, number> = {};
  let status: number | null = null;
  let latencyInMs = 0;
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const item of (match[1] ?? "").split(",")) {
      const [rawKey, rawValue] = item.split("=");
      const key = (rawKey ?? "").trim().toLowerCase();
      const value = Number(rawValue);
      const category = CATEGORY_KEYS[key];
      if (key === "attack") attack = true;
      else if (category !== undefined && Number.isInteger(value) && value >= 0 && value <= 7) severities[category] = Math.max(severities[category] ?? 0, value);
      else if (key === "status" && Number.isInteger(value)) status = value;
      else if (key === "latency" && Number.isFinite(value) && value >= 0) latencyInMs = Math.min(value, 30_000);
    }
  }
  return { attack, severities, status, latencyInMs };
}

/** User-prompt attacks: role-play jailbreaks ("DAN", "do anything now") and requests to drop the rules. */
const USER_PROMPT_ATTACKS: readonly RegExp[] = [
  /\bDAN\b[\s\S]{0,200}\bdo anything now\b/i,
  /\bdo anything now\b[\s\S]{0,200}\bDAN\b/i,
  /\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:(?:your|the|my)\s+)?(?:previous|prior|above|earlier)\s+(?:instructions|rules|prompts?)\b/i,
  /\b(?:you\s+are|you're)\s+(?:now\s+)?(?:free|freed)\s+(?:from|of)\s+(?:the\s+)?(?:typical\s+)?(?:confines|rules|restrictions)\b/i,
  /\bdeveloper\s+mode\s+(?:enabled|on)\b/i,
];

/** Document attacks: instructions to the assistant hidden in third-party content. */
const DOCUMENT_ATTACKS: readonly RegExp[] = [
  /\bif\s+you\s+are\s+(?:an?\s+|the\s+)?(?:\w+'s\s+)?(?:ai|digital\s+assistant|assistant|language\s+model|llm|chatbot)\b/i,
  /\[\s*system\s+(?:annotation|note|instruction|override)\b/i,
  /\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:(?:your|the)\s+)?(?:previous|prior|above|earlier)\s+(?:instructions|rules|prompts?)\b/i,
  /\b(?:assistant|ai|model)\s*[,:]\s*(?:you\s+must|immediately|now)\s+(?:send|forward|email|delete|transfer|reveal|execute|run)\b/i,
];

export const isUserPromptAttack = (text: string): boolean => directivesIn(text).attack || USER_PROMPT_ATTACKS.some((pattern) => pattern.test(text));
export const isDocumentAttack = (text: string): boolean => directivesIn(text).attack || DOCUMENT_ATTACKS.some((pattern) => pattern.test(text));

/** The severity the emulator gives a category: from directives only (0 otherwise). */
export function severityOf(text: string, category: string): number {
  return directivesIn(text).severities[category] ?? 0;
}
