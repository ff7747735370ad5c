import { type ChatCompletionRequest } from "./chatRequest.js";

/**
 * The common chat request (string contents, no tool calls sent back) checked by hand, without zod:
 * the schema's walk and copy cost ~10 µs a request. Returns the body itself when every field the
 * schema reads is plainly valid, or null to let the schema decide (anything unusual, anything
 * invalid, and every error message). It accepts nothing the schema refuses, and what it accepts is
 * what the schema would return (test/core/gateway/operations/vouchForChatRequest.test.ts).
 */

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype && !Object.hasOwn(value, "__proto__");

const optional = (value: unknown, check: (present: unknown) => boolean): boolean => value === undefined || check(value);
const nullable = (value: unknown, check: (present: unknown) => boolean): boolean => value === undefined || value === null || check(value);
const stringOfAtMost = (max: number) => (value: unknown): boolean => typeof value === "string" && value.length <= max;
const isString = (value: unknown): boolean => typeof value === "string";
const isBoolean = (value: unknown): boolean => typeof value === "boolean";
const numberWithin = (min: number, max: number) => (value: unknown): boolean => typeof value === "number" && value >= min && value <= max;
const integerWithin = (min: number, max: number) => (value: unknown): boolean => typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
const smallArray = (value: unknown): boolean => Array.isArray(value) && value.length <= 128;

function plainMessage(message: unknown): boolean {
  return (
    isPlainObject(message) &&
    typeof message.role === "string" &&
    ROLES.has(message.role) &&
    nullable(message.content, isString) &&
    optional(message.name, stringOfAtMost(256)) &&
    nullable(message.refusal, isString) &&
    message.tool_calls === undefined &&
    message.function_call === undefined &&
    optional(message.tool_call_id, isString)
  );
}

export function vouchForChatRequest(body: unknown): ChatCompletionRequest | null {
  if (!isPlainObject(body)) return null;
  const { model, messages } = body;
  if (typeof model !== "string" || model.length < 1 || model.length > 256) return null;
  if (!Array.isArray(messages) || messages.length < 1) return null;
  for (const message of messages) if (!plainMessage(message)) return null;
  const plain =
    optional(body.stream, isBoolean) &&
    body.stream_options === undefined &&
    nullable(body.max_tokens, integerWithin(1, Number.MAX_SAFE_INTEGER)) &&
    nullable(body.max_completion_tokens, integerWithin(1, Number.MAX_SAFE_INTEGER)) &&
    nullable(body.temperature, numberWithin(0, 2)) &&
    nullable(body.top_p, numberWithin(0, 1)) &&
    nullable(body.n, integerWithin(1, 16)) &&
    optional(body.user, stringOfAtMost(512)) &&
    optional(body.tools, smallArray) &&
    optional(body.functions, smallArray);
  return plain ? (body as ChatCompletionRequest) : null;
}
