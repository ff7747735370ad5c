/** Inspects one text of an output item: its kind, and for message parts the part's index. */
export type InspectOutputText = (text: string, kind: "text" | "refusal" | "arguments", contentIndex: number) => string;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * One output item of a Response with its texts inspected: a message's `output_text` parts and
 * refusals, a function call's (or custom tool call's) arguments. Other items pass unchanged.
 */
export function inspectResponseOutput(item: Record<string, unknown>, inspect: InspectOutputText): Record<string, unknown> {
  if (item.type === "function_call" && typeof item.arguments === "string") return { ...item, arguments: inspect(item.arguments, "arguments", 0) };
  if (item.type === "custom_tool_call" && typeof item.input === "string") return { ...item, input: inspect(item.input, "arguments", 0) };
  if (item.type !== "message" || !Array.isArray(item.content)) return item;
  const content = item.content.map((part: unknown, index) => {
    if (!isRecord(part)) return part;
    if (part.type === "output_text" && typeof part.text === "string") return { ...part, text: inspect(part.text, "text", index) };
    if (part.type === "refusal" && typeof part.refusal === "string") return { ...part, refusal: inspect(part.refusal, "refusal", index) };
    return part;
  });
  return { ...item, content };
}
