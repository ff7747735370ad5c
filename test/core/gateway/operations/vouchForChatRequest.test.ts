import { describe, expect, it } from "vitest";
import { chatCompletionRequestSchema } from "../../../../src/core/gateway/operations/chat/chatRequest.js";
import { createChatOperation } from "../../../../src/core/gateway/operations/chat/chatOperation.js";
import { vouchForChatRequest } from "../../../../src/core/gateway/operations/chat/vouchForChatRequest.js";
import { FakeCompletionProvider } from "../../../fakes/FakeCompletionProvider.js";

const base = { model: "gpt-4o-mini", max_tokens: 128, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }] };
const withMessage = (message: Record<string, unknown>) => ({ ...base, messages: [message] });

/** Bodies the hand check vouches for: all valid, and the schema returns the same. */
const plain: Record<string, unknown>[] = [
  base,
  { ...base, stream: true, temperature: 0, top_p: 1, n: 16, user: "u".repeat(512), max_completion_tokens: 1, max_tokens: null },
  { ...base, temperature: 2, top_p: 0, n: 1, tools: [], functions: [{ name: "f" }], response_format: { type: "json_object" }, extra: { anything: [1] } },
  { ...base, max_tokens: Number.MAX_SAFE_INTEGER, temperature: null, top_p: null, n: null, max_completion_tokens: null },
  withMessage({ role: "assistant", content: null, refusal: "no", name: "n".repeat(256) }),
  withMessage({ role: "tool", content: "result", tool_call_id: "call_1", extra: true }),
  withMessage({ role: "developer" }),
  { ...base, model: "m".repeat(256) },
];

/** Bodies it leaves to the schema: some valid but unusual, most invalid. */
const deferred: unknown[] = [
  null,
  "text",
  [],
  {},
  { ...base, model: "" },
  { ...base, model: "m".repeat(257) },
  { ...base, model: 4 },
  { ...base, messages: [] },
  { ...base, messages: "hi" },
  { ...base, messages: [null] },
  withMessage({ role: "robot", content: "x" }),
  withMessage({ role: "user", content: 5 }),
  withMessage({ role: "user", content: [{ type: "text", text: "hi" }] }),
  withMessage({ role: "user", content: "x", name: "n".repeat(257) }),
  withMessage({ role: "user", content: "x", name: 3 }),
  withMessage({ role: "user", content: "x", refusal: 1 }),
  withMessage({ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] }),
  withMessage({ role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } }),
  withMessage({ role: "tool", content: "x", tool_call_id: 1 }),
  { ...base, stream: "yes" },
  { ...base, stream_options: { include_usage: true } },
  { ...base, max_tokens: 0 },
  { ...base, max_tokens: 1.5 },
  { ...base, max_tokens: 2 ** 53 },
  { ...base, max_tokens: "10" },
  { ...base, max_completion_tokens: -1 },
  { ...base, temperature: 2.1 },
  { ...base, temperature: Number.NaN },
  { ...base, top_p: 1.01 },
  { ...base, n: 17 },
  { ...base, n: 0 },
  { ...base, user: "u".repeat(513) },
  { ...base, tools: Array.from({ length: 129 }, () => ({})) },
  { ...base, tools: {} },
  { ...base, functions: "f" },
  JSON.parse('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}') as unknown,
  JSON.parse('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x","__proto__":{"role":"system"}}]}') as unknown,
  Object.assign(Object.create({ inherited: true }) as object, base),
];

describe("vouchForChatRequest: the hand check in front of the chat schema", () => {
  it("vouches for plain requests, returning what the schema returns", () => {
    for (const body of plain) {
      const parsed = chatCompletionRequestSchema.safeParse(body);
      expect(parsed.success, JSON.stringify(body).slice(0, 200)).toBe(true);
      expect(vouchForChatRequest(body)).toBe(body);
      expect(parsed.data).toStrictEqual(body);
    }
  });

  it("leaves everything else to the schema, and never accepts what the schema refuses", () => {
    for (const body of deferred) expect(vouchForChatRequest(body), JSON.stringify(body)?.slice(0, 200)).toBeNull();
    const refused = deferred.filter((body) => !chatCompletionRequestSchema.safeParse(body).success);
    // Most of the deferred bodies are invalid: the schema's errors still name them.
    expect(refused.length).toBeGreaterThan(25);
  });

  it("is what the chat operation parses with: the same request either way, and the schema's errors for the rest", () => {
    const chat = createChatOperation(new FakeCompletionProvider());
    for (const body of plain) expect(chat.parse(body)).toStrictEqual(chatCompletionRequestSchema.parse(body));
    expect(() => chat.parse({ ...base, temperature: 3 })).toThrow(/temperature/);
    expect(chat.parse(withMessage({ role: "user", content: [{ type: "text", text: "hi" }] }))).toEqual(withMessage({ role: "user", content: [{ type: "text", text: "hi" }] }));
  });
});
