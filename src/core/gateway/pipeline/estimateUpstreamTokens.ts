import { NON_TEXT_PART_TOKENS, countTextTokens } from "../../limits/estimatePromptTokens.js";
import { type ContentField } from "./Operation.js";

/** What a request sends the model, as the input-token estimate reads it. */
export interface UpstreamInput {
  readonly model: string;
  /** Every text of the request (the fields DLP reads: messages, tool-call arguments, file text, ...). */
  readonly contents: readonly ContentField[];
  /**
   * Definitions that count as their whole JSON (names, descriptions, JSON Schema keys, types and
   * enums), keyed by their JSON Pointer: tools, functions, output-format schemas. Their texts in
   * `contents` are not counted again.
   */
  readonly definitions: Readonly<Record<string, unknown>>;
  /** Parts the model reads but Palisade cannot tokenise (images, audio, binary files). */
  readonly nonTextParts: number;
  /** Tokens of framing (per message or item, the reply's priming). */
  readonly framing: number;
}

/**
 * Input tokens of everything a request sends the model, for the tokens-per-minute reservation made
 * before the upstream call: every text counted with the model's encoding, every definition as its
 * JSON (indented, so a schema is tokenised rather than counted as one long run of bytes; a little
 * above what the model's own rendering of a tool costs), every non-text part at NON_TEXT_PART_TOKENS.
 * Settlement replaces the estimate with the upstream's usage.
 */
export function estimateUpstreamTokens(input: UpstreamInput): number {
  const roots = Object.keys(input.definitions);
  let total = input.framing + input.nonTextParts * NON_TEXT_PART_TOKENS;
  for (const field of input.contents) if (!roots.some((root) => isUnder(field.path, root))) total += countTextTokens(input.model, field.text);
  for (const definition of Object.values(input.definitions)) {
    // One count per list: an app sends the same tools with every request, and the count is remembered (TokenCountMemo).
    if (definition !== undefined && definition !== null) total += countTextTokens(input.model, JSON.stringify(definition, null, 1));
  }
  return total;
}

const isUnder = (path: string, root: string): boolean => path.startsWith(root) && (path.length === root.length || path[root.length] === "/");
