import { TokenCountMemo } from "./TokenCountMemo.js";
import { type TokenEncodingName, countWithUpperBoundUntilLoaded, exactTokenCounterFor, loadTokenEncoding } from "./tokenEncodings.js";

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

/** Encodings by model name: a request counts several texts for one model, and policies name few models. */
const encodingByModel = new Map<string, TokenEncodingName>();
const MAX_REMEMBERED_MODELS = 256;

export function encodingForModel(model: string): TokenEncodingName {
  const known = encodingByModel.get(model);
  if (known !== undefined) return known;
  const encoding = encodingOfName(model.toLowerCase());
  if (encodingByModel.size < MAX_REMEMBERED_MODELS) encodingByModel.set(model, encoding);
  return encoding;
}

function encodingOfName(name: string): TokenEncodingName {
  if (/^gpt-4o|^gpt-4\.|^gpt-5|^o\d|^chatgpt-4o|^gpt-oss/.test(name)) return "o200k_base";
  if (/^gpt-4|^gpt-35|^gpt-3\.5/.test(name)) return "cl100k_base";
  return "o200k_base";
}

const encodingsFor = (models: Iterable<string>): TokenEncodingName[] => [...new Set([...models].map(encodingForModel))];

/** Loads the encodings these models count with. */
export async function loadTokenEncodingsFor(models: Iterable<string>): Promise<void> {
  await Promise.all(encodingsFor(models).map(loadTokenEncoding));
}

/**
 * Until `loadTokenEncodingsFor` has loaded them, counts for these models are an upper bound (the app
 * calls it at start-up with its policy's models, then loads them once its first answers are out).
 */
export function countWithUpperBoundUntilLoadedFor(models: Iterable<string>): void {
  countWithUpperBoundUntilLoaded(encodingsFor(models));
}

/** Longer runs without whitespace are not tokenised: BPE merging is quadratic in a run's length. */
export const MAX_TOKENISED_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_TOKENISED_RUN + 1},}`, "gu");

/**
 * Tokens in `text` for the model's encoding. A run of more than MAX_TOKENISED_RUN characters without
 * whitespace counts as its UTF-8 length — an upper bound, since every token covers at least one byte —
 * so a megabyte of base64 costs linear time instead of blocking the event loop for minutes.
 * While the encoding is still loading (see countWithUpperBoundUntilLoadedFor) the whole text counts
 * that way, `upperBoundOfTextTokens`. Settlement corrects the estimate with the upstream's real usage.
 */
export function countTextTokens(model: string, text: string): number {
  if (text.length === 0) return 0;
  const encoding = encodingForModel(model);
  const count = exactTokenCounterFor(encoding);
  if (count === null) return upperBoundOfTextTokens(text);
  return memo.countOf(encoding, text, (whole) => countLongRunsAsBytes(whole, (rest) => count(rest, PLAIN)));
}

/**
 * Never fewer than the tokens of `text` in any byte-level BPE encoding (o200k_base, cl100k_base):
 * every token stands for at least one byte of the text's UTF-8 (a lone surrogate is the 3 bytes of
 * U+FFFD). Same shape as the exact count, so the long-run rule cannot make the bound the smaller.
 */
export function upperBoundOfTextTokens(text: string): number {
  return countLongRunsAsBytes(text, utf8Bytes);
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");

/** Repeated texts (the system prompt above all) are counted once; see TokenCountMemo. */
const memo = new TokenCountMemo();

function countLongRunsAsBytes(text: string, count: (text: string) => number): number {
  if (text.length <= MAX_TOKENISED_RUN) return count(text);
  let longRunBytes = 0;
  const rest = text.replace(LONG_RUN, (run) => {
    longRunBytes += utf8Bytes(run);
    return " ";
  });
  return longRunBytes + (rest.trim().length === 0 ? 0 : count(rest));
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
