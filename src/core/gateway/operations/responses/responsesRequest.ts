import { z } from "zod";

/**
 * OpenAI's Responses API request, as much as Palisade governs. `input` is a string or a list of items
 * (messages, function calls, function call outputs, ...); items and tools pass through as sent, and
 * unknown fields too, but everything Palisade reads is typed and bounded here.
 */
const item = z.object({ type: z.string().optional(), role: z.string().optional() }).passthrough();

export const responsesRequestSchema = z
  .object({
    model: z.string().min(1, "model must not be empty").max(256),
    input: z.union([z.string(), z.array(item).min(1, "input must contain at least one item")]),
    instructions: z.string().nullable().optional(),
    tools: z.array(z.object({ type: z.string() }).passthrough()).optional(),
    previous_response_id: z.string().min(1).max(256).nullable().optional(),
    store: z.boolean().nullable().optional(),
    background: z.boolean().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    user: z.string().max(512).optional(),
  })
  .passthrough();

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type ResponsesInputItem = z.infer<typeof item>;

/** The input as items (a string input is one user message). */
export const inputItemsOf = (request: Pick<ResponsesRequest, "input">): readonly ResponsesInputItem[] => (typeof request.input === "string" ? [{ role: "user" }] : request.input);
