import { type SafetyTexts } from "./ContentSafetyScreen.js";

/**
 * Which texts of a request are the user's own words and which are documents (third-party content
 * a prompt injection hides in), per operation. System and developer instructions are the app's own
 * and are not screened; nor is earlier assistant output.
 */

interface ChatMessageLike {
  readonly role: string;
  readonly content?: unknown;
}

function textOfContent(content: unknown, partTypes: ReadonlySet<string>): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const texts: string[] = [];
  for (const part of content as unknown[]) {
    if (typeof part !== "object" || part === null) continue;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (typeof type === "string" && partTypes.has(type) && typeof text === "string") texts.push(text);
  }
  return texts.join("\n");
}

const CHAT_PARTS = new Set(["text"]);
const RESPONSES_PARTS = new Set(["input_text", "text", "output_text"]);
const nonEmpty = (text: string): boolean => text.trim() !== "";

/** Chat: user turns are the prompt; tool and function results are documents. */
export function chatSafetyTexts(messages: readonly ChatMessageLike[]): SafetyTexts {
  const user: string[] = [];
  const documents: string[] = [];
  for (const message of messages) {
    const text = textOfContent(message.content, CHAT_PARTS);
    if (message.role === "user") user.push(text);
    else if (message.role === "tool" || message.role === "function") documents.push(text);
  }
  return { userPrompt: user.filter(nonEmpty).join("\n\n"), documents: documents.filter(nonEmpty) };
}

/** Item types whose output came from a tool, not from the user. */
const TOOL_OUTPUT_ITEMS = new Set(["function_call_output", "custom_tool_call_output", "computer_call_output", "local_shell_call_output", "mcp_call"]);

/** Responses: `input` as a string, or user messages, is the prompt; tool outputs and other roles' input items are documents. */
export function responsesSafetyTexts(input: unknown): SafetyTexts {
  if (typeof input === "string") return { userPrompt: input, documents: [] };
  if (!Array.isArray(input)) return { userPrompt: "", documents: [] };
  const user: string[] = [];
  const documents: string[] = [];
  for (const item of input as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { type, role, content, output } = item as { type?: unknown; role?: unknown; content?: unknown; output?: unknown };
    if (typeof type === "string" && TOOL_OUTPUT_ITEMS.has(type)) {
      documents.push(typeof output === "string" ? output : textOfContent(output, RESPONSES_PARTS));
    } else if (role === "user") user.push(textOfContent(content, RESPONSES_PARTS));
    else if (role === "tool") documents.push(textOfContent(content, RESPONSES_PARTS));
  }
  return { userPrompt: user.filter(nonEmpty).join("\n\n"), documents: documents.filter(nonEmpty) };
}

/** Embeddings: inputs are usually content being indexed, so they are documents; token arrays carry no text. */
export function embeddingsSafetyTexts(input: unknown): SafetyTexts {
  const items = typeof input === "string" ? [input] : Array.isArray(input) ? (input as unknown[]).filter((item): item is string => typeof item === "string") : [];
  return { userPrompt: "", documents: items.filter(nonEmpty) };
}
