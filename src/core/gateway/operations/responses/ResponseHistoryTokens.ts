import { isRecord } from "../../../isRecord.js";
import { type CompletionUsage } from "../../../upstream/CompletionProvider.js";

/** Responses and conversations remembered per instance (least recently used out): a few hundred KB at most. */
const CAPACITY = 4_096;

/** What a request continues upstream: a stored Response (`previous_response_id`) or a conversation (`conversation`, an id or `{ id }`). */
export interface ContinuedHistory {
  readonly previous_response_id?: unknown;
  readonly conversation?: unknown;
}

const conversationIdOf = (conversation: unknown): string | null => {
  if (typeof conversation === "string" && conversation !== "") return conversation;
  return isRecord(conversation) && typeof conversation.id === "string" && conversation.id !== "" ? conversation.id : null;
};

/**
 * The tokens of the history the upstream keeps and a request continues, where this instance served
 * its last turn. The model reads that history again as input, but the request does not carry it, so
 * the input-token estimate would miss it: a Response served here read `input_tokens` (its own history
 * included) and wrote `output_tokens`, and continuing it, or the conversation it belongs to, makes
 * the model read about as many again (a little more than it does: the earlier turn's instructions
 * and reasoning are not carried; the estimate stays on the safe side). A history this instance has
 * not seen (another instance, a restart, a conversation filled outside Palisade) counts 0:
 * settlement adds what the upstream reports (docs/limits.md). Only ids and counts are kept.
 */
export class ResponseHistoryTokens {
  readonly #tokens = new Map<string, number>();

  /** After a Response was served: remembers what continuing it (or its conversation) makes the model read. */
  remember(sent: ContinuedHistory, response: unknown, usage: CompletionUsage | null): void {
    if (usage === null || !isRecord(response)) return;
    const tokens = usage.promptTokens + usage.completionTokens;
    if (typeof response.id === "string" && response.id !== "") this.#set(`response:${response.id}`, tokens);
    const conversation = conversationIdOf(response.conversation) ?? conversationIdOf(sent.conversation);
    if (conversation !== null) this.#set(`conversation:${conversation}`, tokens);
  }

  /** Tokens of the history `request` continues, as far as this instance knows; 0 when it does not. */
  tokensOf(request: ContinuedHistory): number {
    let tokens = 0;
    if (typeof request.previous_response_id === "string") tokens += this.#get(`response:${request.previous_response_id}`);
    const conversation = conversationIdOf(request.conversation);
    if (conversation !== null) tokens += this.#get(`conversation:${conversation}`);
    return tokens;
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
