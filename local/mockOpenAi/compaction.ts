import { randomBytes, randomUUID } from "node:crypto";
import { type StoredResponses, responsesTextsOf } from "./responses.js";

/**
 * `POST /responses/compact` and `POST /responses/input_tokens`, as much as a mock upstream needs. A
 * compaction answers the user's messages as received (a `[[mock-say:...]]` directive in one written
 * as the text it says, so a test can have the compacted output hold what input inspection never saw),
 * then one `compaction` item whose `encrypted_content` is random base64, as opaque as the provider's
 * ciphertext. A count answers about a quarter of the characters the model would read. Both read the
 * history `previous_response_id` names (400 when the mock kept none).
 */

const SAY = /\[\[mock-say:(.*?)\]\]/gs;
const said = (text: string): string => text.replace(SAY, (_, value: string) => (value.startsWith("b64:") ? Buffer.from(value.slice(4), "base64url").toString("utf8") : value));
const roughTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

export type MockInputOutcome =
  | { readonly kind: "ok"; readonly body: Record<string, unknown> }
  | { readonly kind: "error"; readonly status: number; readonly code: string; readonly message: string; readonly param: string };

/** The history the request continues; null when it names an id the mock does not keep. */
function historyOf(body: Readonly<Record<string, unknown>>, stored: StoredResponses): readonly string[] | null {
  const previous = typeof body.previous_response_id === "string" ? body.previous_response_id : null;
  return previous === null ? [] : (stored.get(previous)?.texts ?? null);
}

/** The 400 the API answers for a previous_response_id it does not know. */
const unknownPrevious = (body: Readonly<Record<string, unknown>>): MockInputOutcome => ({
  kind: "error",
  status: 400,
  code: "previous_response_not_found",
  message: `Previous response with id '${String(body.previous_response_id)}' not found.`,
  param: "previous_response_id",
});

const userMessagesOf = (input: unknown): Record<string, unknown>[] => {
  const items: unknown[] = typeof input === "string" ? [{ type: "message", role: "user", content: input }] : Array.isArray(input) ? input : [];
  return items.filter((item): item is Record<string, unknown> => isRecord(item) && item.role === "user");
};

const textOf = (content: unknown): string =>
  typeof content === "string" ? content : Array.isArray(content) ? content.map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : "")).join(" ") : "";

export function mockCompaction(body: Readonly<Record<string, unknown>>, stored: StoredResponses): MockInputOutcome {
  const history = historyOf(body, stored);
  if (history === null) return unknownPrevious(body);
  const texts = responsesTextsOf(body).all;
  const id = randomUUID().replaceAll("-", "");
  const messages = userMessagesOf(body.input).map((item, index) => ({
    id: `msg_cmp${index}_${id.slice(0, 12)}`,
    type: "message",
    status: "completed",
    role: "user",
    content: [{ type: "input_text", text: said(textOf(item.content)) }],
  }));
  const encrypted = randomBytes(96).toString("base64");
  const output = [...messages, { id: `cmp_${id}`, type: "compaction", encrypted_content: encrypted }];
  const usage = { input_tokens: roughTokens([...history, ...texts].join("\n")), input_tokens_details: { cached_tokens: 0 }, output_tokens: roughTokens(encrypted), output_tokens_details: { reasoning_tokens: 0 } };
  return { kind: "ok", body: { id: `resp_${id}`, object: "response.compaction", created_at: Math.floor(Date.now() / 1000), output, usage: { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } } };
}

export function mockInputTokens(body: Readonly<Record<string, unknown>>, stored: StoredResponses): MockInputOutcome {
  const history = historyOf(body, stored);
  if (history === null) return unknownPrevious(body);
  const tools = Array.isArray(body.tools) ? JSON.stringify(body.tools) : "";
  return { kind: "ok", body: { object: "response.input_tokens", input_tokens: roughTokens([...history, ...responsesTextsOf(body).all, tools].join("\n")) } };
}
