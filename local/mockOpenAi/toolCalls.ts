import { randomUUID } from "node:crypto";

/**
 * Scripted answers for the mock upstream, read from the prompt so a test can drive one request
 * through the gateway: `[[mock-tool:NAME:ARGS]]` answers with a tool call (one per directive, in
 * order) and `[[mock-say:TEXT]]` answers with that text; `[[mock-refuse:TEXT]]` answers with a
 * `refusal`. A value written `b64:...` is base64url, so a test can have the model "say" a sensitive
 * value that the gateway's input inspection never sees in the prompt.
 */
export interface ScriptedToolCall {
  readonly name: string;
  readonly arguments: string;
}

export interface ScriptedAnswer {
  readonly toolCalls: readonly ScriptedToolCall[];
  readonly content: string | null;
  readonly refusal: string | null;
}

const TOOL = /\[\[mock-tool:([A-Za-z0-9_-]{1,64}):(.*?)\]\]/gs;
const SAY = /\[\[mock-say:(.*?)\]\]/s;
const REFUSE = /\[\[mock-refuse:(.*?)\]\]/s;

const decode = (value: string): string => (value.startsWith("b64:") ? Buffer.from(value.slice(4), "base64url").toString("utf8") : value);

/** The scripted answer in a prompt, or null when it has none. */
export function scriptedAnswerIn(prompt: string): ScriptedAnswer | null {
  const toolCalls = [...prompt.matchAll(TOOL)].map((match) => ({ name: match[1] ?? "tool", arguments: decode(match[2] ?? "") }));
  const say = SAY.exec(prompt)?.[1];
  const refuse = REFUSE.exec(prompt)?.[1];
  if (toolCalls.length === 0 && say === undefined && refuse === undefined) return null;
  return { toolCalls, content: say === undefined ? null : decode(say), refusal: refuse === undefined ? null : decode(refuse) };
}

/** A directive for tests: `[[mock-tool:NAME:b64:...]]` with `args` encoded so the prompt does not carry them. */
export function toolDirective(name: string, args: string): string {
  return `[[mock-tool:${name}:b64:${Buffer.from(args, "utf8").toString("base64url")}]]`;
}

/** `[[mock-say:b64:...]]`: the mock answers with `text`, which the prompt does not carry in clear. */
export function sayDirective(text: string): string {
  return `[[mock-say:b64:${Buffer.from(text, "utf8").toString("base64url")}]]`;
}

/** `[[mock-refuse:b64:...]]`: the mock answers with a `refusal` of `text`. */
export function refuseDirective(text: string): string {
  return `[[mock-refuse:b64:${Buffer.from(text, "utf8").toString("base64url")}]]`;
}

/** The answer's `message` (plain completion). */
export function scriptedMessage(answer: ScriptedAnswer): Record<string, unknown> {
  return {
    role: "assistant",
    content: answer.content,
    refusal: answer.refusal,
    ...(answer.toolCalls.length > 0 ? { tool_calls: answer.toolCalls.map((call) => ({ id: `call_${randomUUID().slice(0, 8)}`, type: "function", function: { name: call.name, arguments: call.arguments } })) } : {}),
  };
}

export const scriptedFinishReason = (answer: ScriptedAnswer): string => (answer.toolCalls.length > 0 ? "tool_calls" : "stop");

/** Splits text into pieces of at most `size` characters, so a value spans several chunks. */
const piecesOf = (text: string, size: number): string[] => {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
};

/**
 * The streamed deltas of an answer, as OpenAI sends them: the role, content and refusal in small
 * pieces, then each tool call's id and name followed by its arguments in fragments of `size`.
 */
export function scriptedDeltas(answer: ScriptedAnswer, size = 5): Record<string, unknown>[] {
  const deltas: Record<string, unknown>[] = [{ role: "assistant", content: answer.content === null ? null : "" }];
  if (answer.content !== null) for (const piece of piecesOf(answer.content, size)) deltas.push({ content: piece });
  if (answer.refusal !== null) for (const piece of piecesOf(answer.refusal, size)) deltas.push({ refusal: piece });
  for (const [index, call] of answer.toolCalls.entries()) {
    deltas.push({ tool_calls: [{ index, id: `call_${randomUUID().slice(0, 8)}`, type: "function", function: { name: call.name, arguments: "" } }] });
    for (const piece of piecesOf(call.arguments, size)) deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
  }
  return deltas;
}
