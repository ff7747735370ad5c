/**
 * The port to a content-safety service (Azure AI Content Safety): Prompt Shields for attacks in the
 * user's prompt and in documents, and text analysis for harm categories and blocklists. Results carry
 * verdicts only: never the analysed text, nor a matched blocklist item's text.
 */

/** Harm categories as the service names them. */
export const HARM_CATEGORIES = ["Hate", "Sexual", "Violence", "SelfHarm"] as const;
export type HarmCategory = (typeof HARM_CATEGORIES)[number];

export interface ShieldPromptInput {
  /** The user's own words. */
  readonly userPrompt: string;
  /** Third-party content: tool results, retrieved passages, anything not written by the user. */
  readonly documents: readonly string[];
}

export interface ShieldPromptResult {
  readonly userPromptAttack: boolean;
  /** One entry per document sent, in order. */
  readonly documentAttacks: readonly boolean[];
}

export interface AnalyzeTextInput {
  readonly text: string;
  readonly categories: readonly HarmCategory[];
  readonly blocklistNames: readonly string[];
  readonly haltOnBlocklistHit?: boolean;
}

export interface AnalyzeTextResult {
  /** Severity per analysed category (0, 2, 4 or 6 with the service's default output). */
  readonly categories: readonly { readonly category: HarmCategory; readonly severity: number }[];
  /** Names of the blocklists that matched (item ids only; the item text is dropped). */
  readonly blocklistMatches: readonly { readonly blocklistName: string; readonly blocklistItemId: string }[];
}

export interface ContentSafetyCallOptions {
  readonly timeoutInMs: number;
  readonly abortSignal?: AbortSignal;
}

export interface ContentSafety {
  shieldPrompt(input: ShieldPromptInput, options: ContentSafetyCallOptions): Promise<ShieldPromptResult>;
  analyzeText(input: AnalyzeTextInput, options: ContentSafetyCallOptions): Promise<AnalyzeTextResult>;
}

/** Thrown by adapters when the service cannot answer (network, timeout, 5xx, 429, auth): the policy's failure mode applies. */
export class ContentSafetyUnavailableError extends Error {
  override readonly name = "ContentSafetyUnavailableError";
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export function isContentSafetyUnavailable(value: unknown): value is ContentSafetyUnavailableError {
  return value instanceof Error && value.name === "ContentSafetyUnavailableError";
}
