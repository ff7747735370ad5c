import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { isRecord } from "../../../isRecord.js";

/**
 * Azure OpenAI "On Your Data" adds `context` to the answer's message (or a stream's first delta): the
 * documents the model was given, as citations (`content`, `title`), and the search `intent`. They are
 * text from the customer's index, returned to the caller beside the answer: inspected as output, whole.
 */
export function inspectAzureContext(context: unknown, scanner: OutputScanner): unknown {
  if (!isRecord(context) || scanner.action === "allow") return context;
  const out: Record<string, unknown> = { ...context };
  if (typeof context.intent === "string") out.intent = scanner.text(context.intent);
  if (Array.isArray(context.citations)) {
    out.citations = context.citations.map((citation: unknown) => {
      if (!isRecord(citation)) return citation;
      const inspected: Record<string, unknown> = { ...citation };
      for (const field of ["content", "title"]) if (typeof citation[field] === "string") inspected[field] = scanner.text(citation[field]);
      return inspected;
    });
  }
  return out;
}
