import { TokenCountMemo } from "./TokenCountMemo.js";
import { type TokenEncodingName, loadTokenEncoding, tokenCounterFor } from "./tokenEncodings.js";

/**
 * Prompt tokens as OpenAI counts a chat (the cookbook's `num_tokens_from_messages`): every message
 * costs 3 tokens of framing plus its role, content and name; a name adds 1; the reply is primed
 * with 3 more. The encoding follows the model family: cl100k_base for gpt-4 and gpt-3.5,
 * o200k_base for gpt-4o, gpt-4.1, gpt-5, the o-series and anything unknown (the newer default).
 */

export interface ChatMessageForCount {
  readonly role: string;
  readonly content?: string | null | readonly { readonly type: string; readonly text?: string }[];
  readonly name?: string;
}

export type { TokenEncodingName } from "./tokenEncodings.js";

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;
/** A non-text part (an image) is not tokenised here: reserve what a high-detail 1024x1024 image costs. */
export const NON_TEXT_PART_TOKENS = 765;

// Caller text is plain text: special-token markers in it are counted, never rejected.
const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

export function encodingForModel(model: string): TokenEncodingName {
  const name = model.toLowerCase();
  if (/^gpt-4o|^gpt-4\.|^gpt-5|^o\d|^chatgpt-4o|^gpt-oss/.test(name)) return "o200k_base";
  if (/^gpt-4|^gpt-35|^gpt-3\.5/.test(name)) return "cl100k_base";
  return "o200k_base";
}

/** Loads the encodings these models count with (the app calls it at start-up with its policy's models). */
export async function loadTokenEncodingsFor(models: Iterable<string>): Promise<void> {
  await Promise.all([...new Set([...models].map(encodingForModel))].map(loadTokenEncoding));
}

/** Longer runs without whitespace are not tokenised: BPE merging is quadratic in a run's length. */
export const MAX_TOKENISED_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_TOKENISED_RUN + 1},}`, "gu");
const utf8 = new TextEncoder();

/**
 * Tokens in `text` for the model's encoding. A run of more than MAX_TOKENISED_RUN characters without
 * whitespace counts as its UTF-8 length — an upper bound, since every token covers at least one byte —
 * so a megabyte of base64 costs linear time instead of blocking the event loop for minutes.
 * Settlement corrects the estimate with the upstream's real usage.
 */
export function countTextTokens(model: string, text: string): number {
  if (text.length === 0) return 0;
  const encoding = encodingForModel(model);
  return memo.countOf(encoding, text, (whole) => countWithEncoding(encoding, whole));
}

/** Repeated texts (the system prompt above all) are counted once; see TokenCountMemo. */
const memo = new TokenCountMemo();

function countWithEncoding(encoding: TokenEncodingName, text: string): number {
  const count = tokenCounterFor(encoding);
  if (text.length <= MAX_TOKENISED_RUN) return count(text, PLAIN);
  let longRunBytes = 0;
  const rest = text.replace(LONG_RUN, (run) => {
    longRunBytes += utf8.encode(run).byteLength;
    return " ";
  });
  return longRunBytes + (rest.trim().length === 0 ? 0 : count(rest, PLAIN));
}

export function estimatePromptTokens(model: string, messages: readonly ChatMessageForCount[]): number {
  let total = REPLY_PRIMING;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTextTokens(model, message.role);
    const content = message.content;
    if (typeof content === "string") {
      total += countTextTokens(model, content);
    } else if (Array.isArray(content)) {
      for (const part of content as readonly { readonly type: string; readonly text?: string }[]) {
        total += part.type === "text" || typeof part.text === "string" ? countTextTokens(model, part.text ?? "") : NON_TEXT_PART_TOKENS;
      }
    }
    if (message.name !== undefined && message.name.length > 0) total += countTextTokens(model, message.name) + TOKENS_PER_NAME;
  }
  return total;
}
