import { z } from "zod";

/**
 * The OpenAI chat-completions request, as much of it as Palisade governs. Unknown top-level fields
 * pass through to the upstream untouched (clients send new parameters before gateways learn them),
 * but everything Palisade reads is typed and bounded here.
 */

const textPart = z.object({ type: z.literal("text"), text: z.string() }).passthrough();
const imagePart = z
  .object({ type: z.literal("image_url"), image_url: z.object({ url: z.string(), detail: z.string().optional() }).passthrough() })
  .passthrough();
const otherPart = z.object({ type: z.string() }).passthrough();
const contentPart = z.union([textPart, imagePart, otherPart]);

const functionToolCall = z
  .object({
    id: z.string(),
    type: z.string(),
    function: z.object({ name: z.string(), arguments: z.string() }).passthrough(),
  })
  .passthrough();
/** A custom tool's call (free-form `input` instead of JSON arguments), sent back as history. */
const customToolCall = z
  .object({
    id: z.string(),
    type: z.literal("custom"),
    custom: z.object({ name: z.string(), input: z.string() }).passthrough(),
  })
  .passthrough();
const toolCall = z.union([functionToolCall, customToolCall]);

export const chatMessageSchema = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    name: z.string().max(256).optional(),
    refusal: z.string().nullable().optional(),
    tool_calls: z.array(toolCall).optional(),
    function_call: z.object({ name: z.string(), arguments: z.string() }).passthrough().nullable().optional(),
    tool_call_id: z.string().optional(),
  })
  .passthrough();

export const chatCompletionRequestSchema = z
  .object({
    model: z.string().min(1, "model must not be empty").max(256),
    messages: z.array(chatMessageSchema).min(1, "messages must contain at least one message"),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    n: z.number().int().min(1).max(16).nullable().optional(),
    user: z.string().max(512).optional(),
    tools: z.array(z.unknown()).max(128).optional(),
    functions: z.array(z.unknown()).max(128).optional(),
    response_format: z.unknown().optional(),
  })
  .passthrough();

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** The text a message carries, part by part, in order (its content, refusal and tool-call arguments). */
export function textPartsOf(message: ChatMessage): string[] {
  const texts: string[] = [];
  if (typeof message.content === "string") texts.push(message.content);
  else if (Array.isArray(message.content)) {
    for (const part of message.content) if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
  }
  for (const call of message.tool_calls ?? []) texts.push(toolCallOf(call).args);
  return texts;
}

/**
 * The output budget the caller asked for, if any. Sent both, the larger: OpenAI refuses the pair, but an
 * upstream may honour either one (an older Azure API version knows only `max_tokens`), so the bound and
 * the reservation hold whichever it is.
 */
export function requestedMaxTokens(request: ChatCompletionRequest): number | null {
  const { max_completion_tokens: completion, max_tokens: tokens } = request;
  if (completion == null) return tokens ?? null;
  return tokens == null ? completion : Math.max(completion, tokens);
}

type ToolCall = NonNullable<ChatMessage["tool_calls"]>[number];

/** A tool call sent back as history: a function's (`function.arguments`) or a custom tool's (`custom.input`). */
export function toolCallOf(call: ToolCall): { readonly kind: "function" | "custom"; readonly args: string; readonly name: string } {
  const { function: fn, custom } = call as { readonly function?: { readonly name: string; readonly arguments: string }; readonly custom?: { readonly name: string; readonly input: string } };
  if (fn !== undefined) return { kind: "function", args: fn.arguments, name: fn.name };
  return { kind: "custom", args: custom?.input ?? "", name: custom?.name ?? "" };
}
