import { isRecord } from "../../../isRecord.js";
import { type CompletionUsage } from "../../../upstream/CompletionProvider.js";

/** Responses remembered per instance (least recently used out): a few hundred KB at most. */
const CAPACITY = 4_096;

/**
 * The tokens of the stored Response a request continues (`previous_response_id`), where this instance
 * served it. The model reads that history again as input, but the request does not carry it, so the
 * input-token estimate would miss it: a Response served here read `input_tokens` (its own history
 * included) and wrote `output_tokens`, and continuing it makes the model read about as many again (a
 * little more than it does: the earlier turn's instructions and reasoning are not carried; the estimate
 * stays on the safe side). A Response this instance has not seen (another instance, a restart) counts 0:
 * settlement adds what the upstream reports (docs/limits.md). Only ids and counts are kept. No
 * conversation is counted: a request with `conversation` is refused before any estimate
 * (responseOwnership.ts).
 */
export class ResponseHistoryTokens {
  readonly #tokens = new Map<string, number>();

  /** After a Response was served: remembers what continuing it makes the model read. */
  remember(response: unknown, usage: CompletionUsage | null): void {
    if (usage === null || !isRecord(response) || typeof response.id !== "string" || response.id === "") return;
    this.#set(response.id, usage.promptTokens + usage.completionTokens);
  }

  /** Tokens of the stored Response `previousResponseId` names, as far as this instance knows; 0 when it does not. */
  tokensOf(previousResponseId: string | null | undefined): number {
    return typeof previousResponseId === "string" ? this.#get(previousResponseId) : 0;
  }

  #get(key: string): number {
    const tokens = this.#tokens.get(key);
    if (tokens === undefined) return 0;
    // Used again: moved to the young end.
    this.#tokens.delete(key);
    this.#tokens.set(key, tokens);
    return tokens;
  }

  #set(key: string, tokens: number): void {
    this.#tokens.delete(key);
    this.#tokens.set(key, Math.max(0, tokens));
    if (this.#tokens.size > CAPACITY) {
      const oldest = this.#tokens.keys().next();
      if (oldest.done !== true) this.#tokens.delete(oldest.value);
    }
  }
}
